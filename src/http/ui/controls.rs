//! Placeholder.

use super::Pages;

/// Adds this group's pages.
pub(super) fn routes(pages: Pages) -> Pages {
    pages
}
