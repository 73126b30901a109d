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

pub use domain::words::{fill, pick};

/// A text carried in both languages, in the page's.
pub fn say(words: &domain::Words) -> String {
    words.get(locale()).to_owned()
}

impl crate::error::AppError {
    /// What the page shows, in the page's language.
    pub fn message(&self) -> String {
        self.message_in(locale())
    }

    /// The message for one field, in the page's language.
    pub fn field(&self, name: &str) -> Option<String> {
        self.field_in(name, locale())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
