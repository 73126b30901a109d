//! The pages' language: Bahasa Indonesia by default, English by choice.
//!
//! The product has exactly two languages, so each text is written at its use
//! as an (Indonesian, English) pair: `tr("Simpan", "Save")`. The compiler then
//! guarantees that no text lacks its translation, and a word that means two
//! things in English (a nav entry and a channel) simply gets two pairs.
//!
//! The locale is fixed for a page load, so texts need not be reactive. On the
//! server it is the signed-in user's preference (`users.locale`); in the
//! browser it is read back from `<html lang>`, which the server wrote, so
//! hydration renders the same words. Changing it reloads the page.

use domain::Locale;
use leptos::prelude::*;
use std::fmt::Display;

/// Provided by the app's root so every component sees the page's locale.
#[derive(Debug, Clone, Copy)]
struct PageLocale(Locale);

/// The locale this page is rendered in (see the module comment).
pub fn detect() -> Locale {
    #[cfg(feature = "ssr")]
    {
        crate::auth::session::session_info()
            .map(|s| s.user.locale)
            .unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        document()
            .document_element()
            .and_then(|html| html.get_attribute("lang"))
            .and_then(|lang| Locale::parse(&lang).ok())
            .unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        Locale::default()
    }
}

/// Makes [`locale`] answer `locale` below the current owner.
pub fn provide_locale(locale: Locale) {
    provide_context(PageLocale(locale));
}

/// The page's locale. Outside a page (a server function) it is the signed-in
/// user's, so messages composed on the server come back in their language.
pub fn locale() -> Locale {
    match use_context::<PageLocale>() {
        Some(PageLocale(l)) => l,
        None => detect(),
    }
}

/// One text in the page's language.
pub fn tr(id: &'static str, en: &'static str) -> &'static str {
    pick(locale(), id, en)
}

/// One text in `locale`.
pub const fn pick(locale: Locale, id: &'static str, en: &'static str) -> &'static str {
    match locale {
        Locale::Id => id,
        Locale::En => en,
    }
}

/// `template` with each `{}` replaced by the next of `args`, so a sentence
/// with values can be translated whole (word order differs between the two).
pub fn fill(template: &str, args: &[&dyn Display]) -> String {
    let mut out = String::with_capacity(template.len() + 16 * args.len());
    let mut args = args.iter();
    let mut rest = template;
    while let Some(at) = rest.find("{}") {
        out.push_str(&rest[..at]);
        match args.next() {
            Some(a) => out.push_str(&a.to_string()),
            None => out.push_str("{}"),
        }
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_placeholders_in_order_and_keeps_extra_ones() {
        assert_eq!(fill("{} dari {} grup", &[&3, &"10"]), "3 dari 10 grup");
        assert_eq!(fill("{} of {}", &[&1]), "1 of {}");
        assert_eq!(fill("tanpa nilai", &[&1]), "tanpa nilai");
        assert_eq!(fill("{}{}", &[&"a", &"b"]), "ab");
    }

    #[test]
    fn the_locale_comes_from_the_context_and_defaults_to_indonesian() {
        let owner = Owner::new();
        owner.with(|| {
            assert_eq!(locale(), Locale::Id);
            assert_eq!(tr("Simpan", "Save"), "Simpan");
            provide_locale(Locale::En);
            assert_eq!(locale(), Locale::En);
            assert_eq!(tr("Simpan", "Save"), "Save");
        });
    }
}
