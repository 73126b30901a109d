//! People from a spreadsheet: the users page's CSV import. An office
//! pastes (or uploads) its staff list; every row is checked and reported
//! before anything is saved, then all rows are saved at once or none.
//!
//! Here: reading the text into forms, pure. Comma, semicolon (what a
//! spreadsheet in Indonesian settings writes, the comma being the decimal
//! mark) and tab (what a copied range pastes as) are told apart by the
//! header line. Columns are named in English or Indonesian; a role may be
//! its code or its name in either language. Zones and taken emails are the
//! server's to check (`storage::users::import`).

use super::users::{UserForm, ValidUser};
use crate::words::{FieldError, Words};
use crate::{Locale, Role};
use serde::{Deserialize, Serialize};

/// Rows per import, as the sync API's bulk request.
pub const MAX_IMPORT_ROWS: usize = 1000;

/// One data row: its line in the text (1 = the header) and its form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRow {
    pub line: usize,
    pub form: UserForm,
}

/// What the check found for one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowOutcome {
    New,
    /// Someone has this email: their details are replaced.
    Update,
    /// What is wrong, each in both languages.
    Refused(Vec<Words>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLine {
    pub line: usize,
    pub name: String,
    pub email: String,
    pub outcome: RowOutcome,
}

/// The row-by-row report; `saved` once the rows were saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub lines: Vec<ReportLine>,
    pub saved: bool,
    /// Set-password links sent (to the new people), once saved.
    pub links_sent: usize,
}

impl ImportReport {
    pub fn refused(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| matches!(l.outcome, RowOutcome::Refused(_)))
            .count()
    }
}

/// The columns, each with the names it may go by.
const COLUMNS: &[(&str, &[&str])] = &[
    ("name", &["name", "nama"]),
    ("email", &["email", "e-mail", "surel"]),
    (
        "phone",
        &["phone", "telepon", "nomor", "whatsapp", "no_hp", "hp"],
    ),
    ("role", &["role", "peran", "jabatan"]),
    ("work_zone", &["work_zone", "zona", "zona_kerja", "zone"]),
    ("locale", &["locale", "bahasa", "language"]),
    ("time_zone", &["time_zone", "zona_waktu", "timezone"]),
];

fn refuse(field: &str, id: &str, en: &str) -> Vec<FieldError> {
    vec![FieldError::new(field, Words::new(id, en))]
}

/// The text's rows as forms, or why the text as a whole cannot be read
/// (no header, an unknown or missing column, too many rows). A row's own
/// problems are left to [`check_rows`].
pub fn read(text: &str) -> Result<Vec<ImportRow>, Vec<FieldError>> {
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(refuse(
            "csv",
            "Tempel daftar dengan baris judul kolom dulu (nama, email, telepon, peran, zona).",
            "Paste a list whose first line names the columns (name, email, phone, role, zone).",
        ));
    };
    let delimiter = [';', '\t', ',']
        .into_iter()
        .max_by_key(|d| header.matches(*d).count())
        .unwrap_or(',');
    let mut columns = Vec::new();
    for title in split(header, delimiter) {
        let t = title.trim().to_lowercase().replace([' ', '-'], "_");
        match COLUMNS.iter().find(|(_, names)| names.contains(&t.as_str())) {
            Some((field, _)) => columns.push(*field),
            None => {
                return Err(vec![FieldError::new(
                    "csv",
                    Words::fill(
                        "Kolom '{}' tidak dikenal (dikenal: nama, email, telepon, peran, zona, bahasa, zona_waktu).",
                        "Unknown column '{}' (known: name, email, phone, role, work_zone, locale, time_zone).",
                        &[&title.trim()],
                    ),
                )])
            }
        }
    }
    for required in ["name", "email", "role"] {
        if !columns.contains(&required) {
            return Err(vec![FieldError::new(
                "csv",
                Words::fill(
                    "Kolom '{}' wajib ada.",
                    "The column '{}' is required.",
                    &[&required],
                ),
            )]);
        }
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        if rows.len() == MAX_IMPORT_ROWS {
            return Err(vec![FieldError::new(
                "csv",
                Words::fill(
                    "Paling banyak {} orang sekali impor.",
                    "At most {} people per import.",
                    &[&MAX_IMPORT_ROWS],
                ),
            )]);
        }
        let mut form = UserForm::default();
        for (field, value) in columns.iter().zip(split(line, delimiter)) {
            let value = value.trim().to_owned();
            match *field {
                "name" => form.name = value,
                "email" => form.email = value,
                "phone" => form.phone = value,
                "role" => form.role = role_code(&value),
                "work_zone" => form.work_zone = value,
                "locale" if !value.is_empty() => form.locale = value.to_lowercase(),
                "time_zone" if !value.is_empty() => form.time_zone = value,
                _ => {}
            }
        }
        rows.push(ImportRow { line: i + 1, form });
    }
    Ok(rows)
}

/// A role by its code or its name in either language ("Teknisi").
fn role_code(value: &str) -> String {
    let v = value.trim().to_lowercase();
    Role::ALL
        .iter()
        .find(|r| {
            r.as_str() == v
                || r.label(Locale::Id).to_lowercase() == v
                || r.label(Locale::En).to_lowercase() == v
        })
        .map_or(v, |r| r.as_str().to_owned())
}

/// One line's cells: `"…"` quotes a cell (a doubled `""` inside is a quote).
fn split(line: &str, delimiter: char) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let cell = cells.last_mut().expect("one cell at least");
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            '"' => quoted = !quoted,
            c if c == delimiter && !quoted => cells.push(String::new()),
            c => cell.push(c),
        }
    }
    cells
}

/// One row after [`check_rows`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRow {
    pub line: usize,
    /// The row's form checked, when it passes the form's rules (it may
    /// still repeat an earlier row's email).
    pub valid: Option<ValidUser>,
    /// Everything wrong with the row; none: it can be saved.
    pub problems: Vec<Words>,
}

/// Each row checked once, on its own (the form's rules) and against the
/// rows before it (an email twice), in order.
pub fn check_rows(rows: &[ImportRow]) -> Vec<CheckedRow> {
    let mut seen = std::collections::HashMap::new();
    rows.iter()
        .map(|row| {
            let (valid, mut problems) = match row.form.validate() {
                Ok(v) => (Some(v), Vec::new()),
                Err(errors) => (None, errors.into_iter().map(|e| e.message).collect()),
            };
            let email = row.form.email.trim().to_lowercase();
            if !email.is_empty() {
                if let Some(first) = seen.insert(email, row.line) {
                    problems.push(Words::fill(
                        "Email yang sama sudah ada di baris {}.",
                        "The same email is on line {} already.",
                        &[&first],
                    ));
                }
            }
            CheckedRow {
                line: row.line,
                valid,
                problems,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spreadsheets_semicolons_quotes_and_indonesian_columns_are_read() {
        let text = "\u{feff}Nama;Email;Telepon;Peran;Zona\n\
                    Rudi Teknisi;rudi@contoh.id;0812-7777-0001;Teknisi;karawang\n\
                    \n\
                    \"Sari; S.T.\";sari@contoh.id;;supervisor;\n";
        let rows = read(text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].form.role, "technician");
        assert_eq!(rows[0].form.work_zone, "karawang");
        assert_eq!(rows[1].line, 4);
        assert_eq!(rows[1].form.name, "Sari; S.T.");
        assert_eq!(rows[1].form.phone, "");
        assert!(check_rows(&rows).iter().all(|r| r.problems.is_empty()));
    }

    #[test]
    fn tabs_pasted_from_a_sheet_and_english_names_work_too() {
        let rows =
            read("name\temail\trole\tlocale\nBudi\tbudi@contoh.id\tCustomer service\ten").unwrap();
        assert_eq!(rows[0].form.role, "customer_service");
        assert_eq!(rows[0].form.locale, "en");
        let rows = read("name,email,role\n\"Ani \"\"CS\"\"\",ani@contoh.id,noc").unwrap();
        assert_eq!(rows[0].form.name, "Ani \"CS\"");
    }

    #[test]
    fn the_whole_text_is_refused_for_a_bad_header_and_rows_for_their_own_faults() {
        let first = |r: Result<Vec<ImportRow>, Vec<FieldError>>| {
            r.unwrap_err()[0].message.get(Locale::Id).to_owned()
        };
        assert!(first(read("")).contains("baris judul"));
        assert!(first(read("nama,email,gaji\n")).contains("'gaji' tidak dikenal"));
        assert!(first(read("nama,email\n")).contains("'role' wajib"));
        let many = format!(
            "name,email,role\n{}",
            "a,a@b.id,noc\n".repeat(MAX_IMPORT_ROWS + 1)
        );
        assert!(first(read(&many)).contains("Paling banyak 1000"));

        let rows = read(
            "name,email,phone,role\n\
             Rudi,rudi@contoh.id,0812abc,teknisi\n\
             ,RUDI@contoh.id,,bos\n",
        )
        .unwrap();
        let checked = check_rows(&rows);
        assert_eq!(checked.len(), 2);
        assert_eq!(checked[0].line, 2);
        assert!(checked[0].valid.is_none());
        assert_eq!(checked[0].problems.len(), 1, "the phone with letters");
        let second: Vec<&str> = checked[1]
            .problems
            .iter()
            .map(|w| w.get(Locale::Id))
            .collect();
        assert!(second.contains(&"Nama wajib diisi."), "{second:?}");
        assert!(second.contains(&"Pilih peran."), "{second:?}");
        assert!(
            second.contains(&"Email yang sama sudah ada di baris 2."),
            "{second:?}"
        );
    }
}
