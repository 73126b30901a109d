//! The pages' shared layer: [`components`] every page uses and the
//! [`labels`] of every vocabulary.

pub mod components;
pub mod labels;

pub use components::{refused_page, ConfirmDelete, ErrorNote, FieldMessage, Loading};
pub use labels::{
    account_label, category_label, channel_label, meta_category_label, meta_status_label,
    priority_label, role_label, status_label, try_label, type_label,
};
