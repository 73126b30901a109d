//! SMS text: how many segments a message costs, and a WhatsApp message
//! turned into an SMS that fits a budget of segments.
//!
//! An SMS is billed per segment. A text made only of GSM 03.38 characters
//! travels in 7-bit septets: 160 in one SMS, 153 per part once it is split
//! (the rest is the concatenation header); the extension characters
//! (`€ [ ] { } \ ^ ~ |` and form feed) take two septets. A single character
//! outside that alphabet switches the whole message to UCS-2: 70 UTF-16 units
//! in one SMS, 67 per part. Parts never split a character. So [`plain`]
//! replaces the typographic characters that would force UCS-2 (curly quotes,
//! dashes, ellipsis, emoji) before [`fit`] cuts the text to its budget.

/// How the text travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        }
    }

    /// Units in a message that fits one SMS, and per part of a longer one.
    fn capacity(self) -> (u32, u32) {
        match self {
            Encoding::Gsm7 => (160, 153),
            Encoding::Ucs2 => (70, 67),
        }
    }
}

/// What a text costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    pub encoding: Encoding,
    /// SMS parts (at least 1: an empty message is still one SMS).
    pub count: u32,
    /// Septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: u32,
}

/// The longest SMS sent: three parts (459 GSM-7 characters) carry any of
/// the seeded alerts; a longer one is cut with "...".
pub const MAX_SEGMENTS: u32 = 3;

/// The GSM 03.38 default alphabet (one septet each), escape excluded.
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: an escape septet plus one.
const EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// Septets a character takes, or `None` outside the GSM alphabet.
pub fn gsm_septets(c: char) -> Option<u32> {
    // Letters, digits and spaces first: the common case, without a scan.
    if c.is_ascii_alphanumeric() || c == ' ' || BASIC.contains(c) {
        Some(1)
    } else if EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// The encoding a text needs.
pub fn encoding(text: &str) -> Encoding {
    if text.chars().all(|c| gsm_septets(c).is_some()) {
        Encoding::Gsm7
    } else {
        Encoding::Ucs2
    }
}

fn units(c: char, encoding: Encoding) -> u32 {
    match encoding {
        Encoding::Gsm7 => gsm_septets(c).unwrap_or(1),
        Encoding::Ucs2 => c.len_utf16() as u32,
    }
}

/// Segments of a text, packed the way phones pack them: a part ends where
/// the next character would not fit whole.
pub fn segments(text: &str) -> Segments {
    let encoding = encoding(text);
    let (single, part) = encoding.capacity();
    let total: u32 = text.chars().map(|c| units(c, encoding)).sum();
    if total <= single {
        return Segments {
            encoding,
            count: 1,
            units: total,
        };
    }
    let (mut count, mut used) = (1, 0);
    for c in text.chars() {
        let u = units(c, encoding);
        if used + u > part {
            count += 1;
            used = 0;
        }
        used += u;
    }
    Segments {
        encoding,
        count,
        units: total,
    }
}

/// Typographic characters that would force UCS-2, and their GSM stand-ins.
fn stand_in(c: char) -> Option<&'static str> {
    Some(match c {
        '‘' | '’' | '‚' | '′' | '`' | '´' => "'",
        '“' | '”' | '„' | '″' => "\"",
        '–' | '—' | '−' | '‐' | '‑' => "-",
        '…' => "...",
        '•' | '·' | '▪' | '◦' => "-",
        '\u{a0}' | '\u{2009}' | '\u{202f}' | '\t' => " ",
        '×' => "x",
        '→' => "->",
        // What `template::Escape::WhatsApp` made of customer data's own
        // `* _ ~ \``: an SMS has no formatting to protect.
        '\u{FF0A}' => "*",
        '\u{FF3F}' => "_",
        '\u{FF5E}' => "~",
        '\u{FF40}' => "'",
        _ => return None,
    })
}

/// Pictographs, dingbats, joiners and variation selectors: decoration in a
/// WhatsApp message, and each one would halve an SMS's capacity.
fn is_decoration(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF   // emoji, pictographs, flags
        | 0x2600..=0x27BF   // miscellaneous symbols, dingbats
        | 0x2B00..=0x2BFF   // arrows and stars (⭐)
        | 0x2300..=0x23FF   // technical (⏰ ⌛)
        | 0xFE00..=0xFE0F   // variation selectors
        | 0x200B..=0x200D   // zero-width space and joiners
        | 0xE0000..=0xE007F // tag characters (subdivision flags)
    )
}

/// A WhatsApp message as an SMS text: `*bold*`, `_italic_`, `~strike~` and
/// ```` ``` ```` markers removed, typographic characters replaced by GSM ones,
/// emoji dropped, blank lines and runs of spaces collapsed. Characters that
/// have no stand-in (other scripts) stay; the message then goes as UCS-2.
pub fn plain(whatsapp: &str) -> String {
    let unformatted = whatsapp.replace("```", "");
    let mut lines = Vec::new();
    for line in unformatted.lines() {
        let mut text = String::with_capacity(line.len());
        for c in strip_markers(line).chars() {
            if let Some(s) = stand_in(c) {
                text.push_str(s);
            } else if !is_decoration(c) && !c.is_control() {
                text.push(c);
            }
        }
        let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
        if !words.is_empty() {
            lines.push(words.join(" "));
        }
    }
    lines.join("\n")
}

/// Removes WhatsApp's paired style markers on one line: a marker opens
/// before a non-space character at the start of a word, and closes after a
/// non-space character at the end of one, as WhatsApp itself reads them.
fn strip_markers(line: &str) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    for marker in ['*', '_', '~'] {
        let mut i = 0;
        while i < chars.len() {
            let opens = chars[i] == marker
                && (i == 0 || !chars[i - 1].is_alphanumeric())
                && chars
                    .get(i + 1)
                    .is_some_and(|c| !c.is_whitespace() && *c != marker);
            if !opens {
                i += 1;
                continue;
            }
            let close = (i + 2..chars.len()).find(|&j| {
                chars[j] == marker
                    && !chars[j - 1].is_whitespace()
                    && chars.get(j + 1).is_none_or(|c| !c.is_alphanumeric())
            });
            match close {
                Some(j) => {
                    chars.remove(j);
                    chars.remove(i);
                    i = j - 1;
                }
                None => i += 1,
            }
        }
    }
    chars.into_iter().collect()
}

/// The SMS a WhatsApp message becomes: [`plain`], cut to [`MAX_SEGMENTS`].
pub fn from_whatsapp(whatsapp: &str) -> String {
    fit(&plain(whatsapp), MAX_SEGMENTS)
}

/// The SMS of a WhatsApp message with a last line that must survive whole
/// (an acknowledgement link): the message is cut, never the line.
pub fn from_whatsapp_with_tail(whatsapp: &str, tail: &str) -> String {
    let tail = plain(tail);
    let body = plain(whatsapp);
    let whole = format!("{body}\n{tail}");
    if segments(&whole).count <= MAX_SEGMENTS {
        return whole;
    }
    // The longest cut of the body (in characters) that still fits.
    let chars: Vec<(usize, char)> = body.char_indices().collect();
    let with = |n: usize| {
        let end = chars.get(n).map_or(body.len(), |&(i, _)| i);
        format!("{}...\n{tail}", body[..end].trim_end())
    };
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if segments(&with(mid)).count <= MAX_SEGMENTS {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    with(lo)
}

/// Cuts `text` to at most `max_segments` parts, ending with "..." when it
/// had to cut, at a word boundary when one is near.
pub fn fit(text: &str, max_segments: u32) -> String {
    let max_segments = max_segments.max(1);
    if segments(text).count <= max_segments {
        return text.to_owned();
    }
    const MORE: &str = "...";
    let encoding = encoding(text);
    let (single, part) = encoding.capacity();
    let budget = if max_segments == 1 {
        single
    } else {
        part * max_segments
    };
    // Parts are filled whole characters at a time, so leave room for a part
    // that ends one unit short (a two-unit character at its end).
    let room = budget - max_segments.saturating_sub(1) - MORE.len() as u32;
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        let u = units(c, encoding);
        if used + u > room {
            break;
        }
        used += u;
        end = i + c.len_utf8();
    }
    let cut = &text[..end];
    // Back to the last space if that loses little (a fifth of the text at most).
    let cut = match cut.rfind([' ', '\n']) {
        Some(space) if space * 5 >= cut.len() * 4 => &cut[..space],
        _ => cut,
    };
    let out = format!("{}{MORE}", cut.trim_end());
    debug_assert!(segments(&out).count <= max_segments);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_survives_whole_and_the_message_is_cut_instead() {
        let link = "Konfirmasi: https://notif.example/ack/0123456789abcdef.12.1800000000.AAAAAAAAAAAAAAAAAAAAAA";
        let short = from_whatsapp_with_tail("*Outage* di Karawang", link);
        assert_eq!(short, format!("Outage di Karawang\n{link}"));
        let long = from_whatsapp_with_tail(&"kabel putus ".repeat(100), link);
        assert!(long.ends_with(&format!("...\n{link}")), "{long}");
        assert!(segments(&long).count <= MAX_SEGMENTS);
        // As long as it can be: one more character would need a fourth part.
        assert!(segments(&long).count == MAX_SEGMENTS);
    }

    #[test]
    fn plain_ascii_is_gsm7_with_160_in_one_and_153_per_part() {
        let s = segments(&"a".repeat(160));
        assert_eq!(
            (s.encoding, s.count, s.units),
            (Encoding::Gsm7, 1, 160),
            "160 fit one SMS"
        );
        assert_eq!(segments(&"a".repeat(161)).count, 2);
        assert_eq!(segments(&"a".repeat(306)).count, 2);
        assert_eq!(segments(&"a".repeat(307)).count, 3);
        assert_eq!(segments("").count, 1);
    }

    #[test]
    fn extension_characters_take_two_septets_and_never_split() {
        let s = segments(&"€".repeat(80));
        assert_eq!((s.encoding, s.units, s.count), (Encoding::Gsm7, 160, 1));
        assert_eq!(segments(&"€".repeat(81)).count, 2);
        // 152 septets, then an escape pair that would straddle the boundary:
        // it moves whole to the second part.
        let text = format!("{}[{}", "a".repeat(152), "a".repeat(10));
        let s = segments(&text);
        assert_eq!((s.units, s.count), (164, 2));
        let text = format!("{}{}[", "a".repeat(152), "a".repeat(153));
        assert_eq!(segments(&text).count, 3);
    }

    #[test]
    fn one_character_outside_the_alphabet_makes_the_whole_text_ucs2() {
        let s = segments(&format!("{}ő", "a".repeat(69)));
        assert_eq!((s.encoding, s.count, s.units), (Encoding::Ucs2, 1, 70));
        assert_eq!(segments(&format!("{}ő", "a".repeat(70))).count, 2);
        assert_eq!(segments(&"ő".repeat(134)).count, 2);
        assert_eq!(segments(&"ő".repeat(135)).count, 3);
        // An emoji is two UTF-16 units and is never split across parts.
        let text = format!("{}😀", "ő".repeat(69));
        assert_eq!((segments(&text).units, segments(&text).count), (71, 2));
        let text = format!("{}😀{}", "ő".repeat(66), "ő".repeat(66));
        assert_eq!(segments(&text).count, 3, "the emoji starts part 2");
    }

    #[test]
    fn indonesian_text_and_gsm_letters_stay_gsm7() {
        assert_eq!(
            encoding("Tiket TK-1001 ditugaskan ke Anda. Lokasi: Jl. Tuparev No. 12, Karawang"),
            Encoding::Gsm7
        );
        assert_eq!(encoding("Café £5 @ 10:00 ¿ñ?"), Encoding::Gsm7);
        assert_eq!(encoding("ç"), Encoding::Ucs2, "only capital Ç is GSM");
    }

    #[test]
    fn whatsapp_formatting_and_decoration_are_removed() {
        let wa = "🔔 *Tiket Baru Ditugaskan*\n\n*ID Tiket:* TK-1001\n_Pelanggan:_ Budi   Santoso\n~batal~ “segera” – 2 jam…\n```kode```";
        assert_eq!(
            plain(wa),
            "Tiket Baru Ditugaskan\nID Tiket: TK-1001\nPelanggan: Budi Santoso\nbatal \"segera\" - 2 jam...\nkode"
        );
        assert_eq!(encoding(&plain(wa)), Encoding::Gsm7);
    }

    #[test]
    fn escaped_customer_data_gets_its_own_characters_back() {
        let wa = crate::template::Escape::WhatsApp.apply("Ibu *Siti* ~PT_Maju~");
        assert_eq!(
            plain(&format!("*Pelanggan:* {wa}")),
            "Pelanggan: Ibu *Siti* ~PT_Maju~"
        );
        assert_eq!(encoding(&plain(&wa)), Encoding::Gsm7);
    }

    #[test]
    fn markers_inside_words_and_unpaired_ones_stay() {
        assert_eq!(plain("ticket_id dan 5*3 = 15"), "ticket_id dan 5*3 = 15");
        assert_eq!(plain("harga * diskon"), "harga * diskon");
        assert_eq!(plain("*tebal* lalu *belum"), "tebal lalu *belum");
        assert_eq!(plain("http://x/a_b_c"), "http://x/a_b_c");
    }

    #[test]
    fn characters_without_a_stand_in_are_kept() {
        let text = plain("Pelanggan: 王小明 ✅");
        assert_eq!(text, "Pelanggan: 王小明");
        assert_eq!(encoding(&text), Encoding::Ucs2);
    }

    #[test]
    fn fit_keeps_short_texts_and_cuts_long_ones_to_the_budget() {
        let short = "Tiket TK-1001 ditugaskan ke Anda.";
        assert_eq!(fit(short, 1), short);
        let long = "kata ".repeat(200);
        for max in 1..=4 {
            let cut = fit(&long, max);
            assert_eq!(segments(&cut).count, max, "{max} parts used fully");
            assert!(cut.ends_with("kata...") || cut.ends_with("ka..."), "{cut}");
            assert!(long.starts_with(cut.trim_end_matches("...")));
        }
        // Extension characters at every boundary still fit.
        let euros = "€".repeat(500);
        for max in 1..=3 {
            assert!(segments(&fit(&euros, max)).count <= max);
        }
        // UCS-2 with surrogate pairs.
        let wide = "😀ő".repeat(300);
        for max in 1..=3 {
            let cut = fit(&wide, max);
            assert!(segments(&cut).count <= max);
            assert!(cut.len() > 50);
        }
    }

    #[test]
    fn fit_does_not_go_back_far_for_a_space() {
        let text = format!("awal {}", "x".repeat(400));
        let cut = fit(&text, 1);
        assert_eq!(segments(&cut).count, 1);
        assert!(
            cut.len() > 150,
            "cut mid-word rather than to one word: {cut}"
        );
    }
}
