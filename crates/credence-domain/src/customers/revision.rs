//! A customer's revision: how many times its own row has been written.
//!
//! Every customer write reads the customer, merges the change into what it read and writes the
//! whole row back. Two writes doing that at once would each write over the other's change (a
//! `PATCH` of the city and one of the name, two projects added at once). So every write names
//! the revision it read, the store writes only while the row is still at that revision and
//! moves it on by one in the same statement, and a write that finds another revision reads
//! again (or, when the client made the write conditional with `If-Match`, is refused).

use std::fmt;

/// The revision a customer row is at: 1 when created, one more after each write of the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision(i64);

impl Revision {
    /// A new customer's.
    pub const FIRST: Self = Self(1);

    /// The revision a store row holds.
    #[must_use]
    pub const fn new(revision: i64) -> Self {
        Self(revision)
    }

    /// The number, as stored.
    #[must_use]
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
