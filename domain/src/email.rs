//! Email rendering: the subject line and the HTML twin of a plain-text
//! message. Pure, so the browser could preview it as the server sends it.

use crate::kinds::{Locale, Priority};

/// Longest subject kept (RFC 5322 advises lines under 78 characters; a
/// longer subject is folded by the mailer, but inboxes cut it anyway).
const MAX_SUBJECT_CHARS: usize = 120;

/// `[Tinggi] Peringatan SLA: TK-1001`: the priority only when it is high or
/// critical (so the reader ranks it), the notification's title, then the
/// ticket if the event names one.
pub fn subject(title: &str, priority: Priority, ticket_id: Option<&str>, locale: Locale) -> String {
    let mut out = String::new();
    if matches!(priority, Priority::High | Priority::Critical) {
        out.push_str(&format!("[{}] ", priority.label(locale)));
    }
    out.push_str(title);
    if let Some(ticket) = ticket_id.map(str::trim).filter(|t| !t.is_empty()) {
        out.push_str(": ");
        out.push_str(ticket);
    }
    // No line breaks in a header, whatever the event's data held.
    let flat: String = out
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(MAX_SUBJECT_CHARS) {
        Some((end, _)) => format!("{}…", &flat[..end]),
        None => flat,
    }
}

/// An address worth trying: something@domain.tld, no spaces. (The mail
/// server has the last word.)
pub fn plausible_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
}

/// The settings page of the app at `public_url`: where email is switched off.
pub fn settings_url(public_url: &str) -> String {
    format!("{}/settings", public_url.trim_end_matches('/'))
}

/// The line under every email: why it came, and where to turn it off.
pub fn footer(locale: Locale, settings_url: &str) -> String {
    match locale {
        Locale::Id => format!(
            "Anda menerima email ini karena notifikasi email aktif di akun Anda. \
             Matikan atau atur di: {settings_url}"
        ),
        Locale::En => format!(
            "You receive this email because email notifications are on for your \
             account. Turn them off or adjust them at: {settings_url}"
        ),
    }
}

/// Separates the message from its footer (the usual signature line).
const SIGNATURE: &str = "\n\n-- \n";

/// The plain text with its footer: the text/plain part, and what the
/// delivery log keeps.
pub fn plain_body(text: &str, footer: &str) -> String {
    format!("{text}{SIGNATURE}{footer}")
}

/// The HTML part of a plain body: the same text, escaped, line breaks kept,
/// links made clickable, and the footer (if any) in small print.
pub fn html_body(plain: &str) -> String {
    let (text, footer) = match plain.rsplit_once(SIGNATURE) {
        Some((text, footer)) => (text, Some(footer)),
        None => (plain, None),
    };
    let footer = footer.map_or(String::new(), |f| {
        format!(
            "<hr><p style=\"font-size:small;color:#555\">{}</p>",
            html_lines(f)
        )
    });
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family:sans-serif;line-height:1.5\"><p>{}</p>{footer}</body></html>\n",
        html_lines(text)
    )
}

/// Escapes and keeps the lines; `http(s)://…` words become links.
fn html_lines(text: &str) -> String {
    text.lines()
        .map(|line| {
            line.split(' ')
                .map(|word| {
                    if word.starts_with("https://") || word.starts_with("http://") {
                        let href = escape(word);
                        format!("<a href=\"{href}\">{href}</a>")
                    } else {
                        escape(word)
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("<br>\n")
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::NotificationType;

    #[test]
    fn subjects_rank_urgent_mail_and_name_the_ticket() {
        assert_eq!(
            subject(
                NotificationType::SlaWarning.label(Locale::Id),
                Priority::High,
                Some("TK-1001"),
                Locale::Id
            ),
            format!(
                "[{}] {}: TK-1001",
                Priority::High.label(Locale::Id),
                NotificationType::SlaWarning.label(Locale::Id)
            )
        );
        assert_eq!(
            subject(
                NotificationType::DailySummary.label(Locale::En),
                Priority::Low,
                None,
                Locale::En
            ),
            NotificationType::DailySummary.label(Locale::En)
        );
        // Header injection is impossible: control characters become spaces.
        let s = subject(
            "Tiket",
            Priority::Medium,
            Some("TK-1\r\nBcc: x@evil.example"),
            Locale::Id,
        );
        assert!(!s.contains('\r') && !s.contains('\n'), "{s}");
        let long = "X".repeat(500);
        let s = subject("Tiket", Priority::Low, Some(&long), Locale::Id);
        assert_eq!(s.chars().count(), MAX_SUBJECT_CHARS + 1);
        assert!(s.ends_with('…'));
    }

    #[test]
    fn html_escapes_keeps_lines_and_links() {
        let html = html_body(&plain_body(
            "Pelanggan: <b>Budi</b> & Sons\nBuka: https://tiket.example/t/1?a=1&b=2",
            "Atur di: https://notif.example/settings",
        ));
        assert!(html.contains("Pelanggan: &lt;b&gt;Budi&lt;/b&gt; &amp; Sons<br>"));
        assert!(html.contains(
            "<a href=\"https://tiket.example/t/1?a=1&amp;b=2\">https://tiket.example/t/1?a=1&amp;b=2</a>"
        ));
        assert!(html.contains("<a href=\"https://notif.example/settings\">"));
        assert!(!html.contains("<b>Budi"));
        assert!(html.contains("<hr><p style"), "the footer in small print");
        assert!(!html_body("Tanpa kaki").contains("<hr>"));
    }

    #[test]
    fn the_footer_says_where_to_turn_email_off() {
        let url = "https://notif.example/settings";
        assert!(footer(Locale::Id, url).contains(url));
        assert!(footer(Locale::En, url).contains("Turn them off"));
        assert_eq!(plain_body("Halo", "kaki"), "Halo\n\n-- \nkaki");
    }
}
