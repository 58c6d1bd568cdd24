//! Rows an optimistic unit of work ([`super::session`]) writes and nothing in it reads back
//! (a customer's search terms, credit-limit history), held and inserted many to a statement
//! instead of a statement or more for each line of an import.
//!
//! A row of these kinds is small and its statement is the cost: a term insert of its own
//! per customer was a sixth of a SQLite import's write thread (each one parsed anew, as its
//! row count varies, and each one made SQLite's text index flush), and on PostgreSQL each is a
//! round trip. Held rows go in before the unit's transaction does anything that could see
//! them: before every read, before the caller learns whether the unit is spoiled, and before
//! its commit; a rollback drops them. A kind's own writes that change held rows (the terms
//! of a customer written again) change them where they wait ([`with`]).
//!
//! The unit's thread also remembers whose event turn its transaction holds already
//! ([`hold_turns`]): an import takes the turns of a whole batch's customers in one statement
//! when it reads them ahead, and needs none for customers it created. And it remembers
//! which customers it read ahead without children ([`childless`]), whose update then has
//! nothing to delete.
//!
//! The rows wait in a thread-local slot of the unit's own thread: every job of a unit runs
//! on that thread, and the write functions keep their signatures (a connection), so the
//! single-request paths, which have no slot, write at once as before.

use std::any::{Any, TypeId};
use std::cell::RefCell;

use crate::database::AnyConnection;
use crate::error::Failure;

/// A kind of row that may wait.
pub(crate) trait Held: Default + Any {
    /// Inserts the rows, as few statements as the backend allows.
    ///
    /// # Errors
    /// [`Failure`] from the database.
    fn insert(self, conn: &mut AnyConnection) -> Result<(), Failure>;
}

/// The rows of one kind, with how to insert them.
struct Slot {
    kind: TypeId,
    rows: Box<dyn Any>,
    insert: fn(Box<dyn Any>, &mut AnyConnection) -> Result<(), Failure>,
}

thread_local! {
    /// The customers whose event turn the unit this thread serves holds already (see
    /// [`crate::events::Outbox`]): taken for a whole batch at once, or not needed at all for
    /// a customer the unit created; `None` when the thread serves no deferring unit.
    static TURNS: RefCell<Option<std::collections::HashSet<i64>>> = const { RefCell::new(None) };

    /// The customers the unit this thread serves read ahead without payment types, contacts
    /// or projects and has given none since (see [`childless`]); `None` when the thread
    /// serves no deferring unit.
    static CHILDLESS: RefCell<Option<std::collections::HashSet<i64>>> = const { RefCell::new(None) };

    /// The waiting rows of the unit this thread serves, by kind in the order each kind was
    /// first held (rows point only to rows written at once, never to held ones, so the order
    /// between kinds does not matter); `None` when the thread serves no deferring unit.
    static WAITING: RefCell<Option<Vec<Slot>>> = const { RefCell::new(None) };
}

/// Holds rows on this thread while it lives, dropping any left when it ends.
#[derive(Debug)]
pub(crate) struct Holding(());

impl Holding {
    /// Starts holding rows on this thread.
    pub(crate) fn start() -> Self {
        WAITING.with(|w| *w.borrow_mut() = Some(Vec::new()));
        TURNS.with(|t| *t.borrow_mut() = Some(std::collections::HashSet::new()));
        CHILDLESS.with(|c| *c.borrow_mut() = Some(std::collections::HashSet::new()));
        Self(())
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        WAITING.with(|w| *w.borrow_mut() = None);
        TURNS.with(|t| *t.borrow_mut() = None);
        CHILDLESS.with(|c| *c.borrow_mut() = None);
    }
}

/// Notes that the unit this thread serves holds the event turn of `customers` (a no-op on a
/// thread that serves none).
pub(crate) fn hold_turns(customers: &[i64]) {
    TURNS.with(|t| {
        if let Some(held) = t.borrow_mut().as_mut() {
            held.extend(customers);
        }
    });
}

/// Of `customers`, those whose turn the unit this thread serves does not hold yet (all of
/// them on a thread that serves none).
pub(crate) fn turns_to_take(customers: &[i64]) -> Vec<i64> {
    TURNS.with(|t| match t.borrow().as_ref() {
        Some(held) => customers
            .iter()
            .copied()
            .filter(|c| !held.contains(c))
            .collect(),
        None => customers.to_vec(),
    })
}

/// Notes that the unit this thread serves read `customers` ahead without children (a no-op
/// on a thread that serves none).
pub(crate) fn note_childless(customers: impl IntoIterator<Item = i64>) {
    CHILDLESS.with(|c| {
        if let Some(known) = c.borrow_mut().as_mut() {
            known.extend(customers);
        }
    });
}

/// Forgets that `customer` has no children: the unit gives it some.
pub(crate) fn forget_childless(customer: i64) {
    CHILDLESS.with(|c| {
        if let Some(known) = c.borrow_mut().as_mut() {
            known.remove(&customer);
        }
    });
}

/// Whether the unit this thread serves knows that `customer` has no payment types,
/// contacts or projects: it read them ahead, and an update that changes them changes the
/// customer's revision, which the update's own statement checks, so an update that got as
/// far as its children found them as they were read. Spares an import's update the
/// children's delete, a round trip on PostgreSQL.
pub(crate) fn childless(customer: i64) -> bool {
    CHILDLESS.with(|c| {
        c.borrow()
            .as_ref()
            .is_some_and(|known| known.contains(&customer))
    })
}

fn insert_boxed<R: Held>(rows: Box<dyn Any>, conn: &mut AnyConnection) -> Result<(), Failure> {
    match rows.downcast::<R>() {
        Ok(rows) => rows.insert(conn),
        Err(_) => Err(Failure::Broken("held rows of the wrong kind".into())),
    }
}

/// Runs `f` on this thread's waiting rows of kind `R` and answers `true`, or answers `false`
/// without running it when the thread holds no rows (the caller then writes at once).
pub(crate) fn with<R: Held>(f: impl FnOnce(&mut R)) -> bool {
    WAITING.with(|w| {
        let mut waiting = w.borrow_mut();
        let Some(slots) = waiting.as_mut() else {
            return false;
        };
        let kind = TypeId::of::<R>();
        let index = match slots.iter().position(|s| s.kind == kind) {
            Some(index) => index,
            None => {
                slots.push(Slot {
                    kind,
                    rows: Box::new(R::default()),
                    insert: insert_boxed::<R>,
                });
                slots.len() - 1
            }
        };
        match slots[index].rows.downcast_mut::<R>() {
            Some(rows) => {
                f(rows);
                true
            }
            None => false,
        }
    })
}

/// Gives `row` to this thread's waiting rows of kind `R` (`add` puts it there) and answers
/// `None`, or hands it back when the thread holds no rows: the caller then writes it at once.
pub(crate) fn hold<R: Held, T>(row: T, add: impl FnOnce(&mut R, T)) -> Option<T> {
    let mut row = Some(row);
    with(|held: &mut R| {
        if let Some(row) = row.take() {
            add(held, row);
        }
    });
    row
}

/// Inserts every waiting row (none waits afterwards, whatever the outcome).
///
/// # Errors
/// [`Failure`] from the first insert that failed.
pub(crate) fn flush(conn: &mut AnyConnection) -> Result<(), Failure> {
    let slots = WAITING.with(|w| w.borrow_mut().as_mut().map(std::mem::take));
    for slot in slots.unwrap_or_default() {
        (slot.insert)(slot.rows, conn)?;
    }
    Ok(())
}

/// Drops every waiting row (the unit is rolled back).
pub(crate) fn discard() {
    WAITING.with(|w| {
        if let Some(slots) = w.borrow_mut().as_mut() {
            slots.clear();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Numbers(Vec<i32>);

    impl Held for Numbers {
        fn insert(self, _conn: &mut AnyConnection) -> Result<(), Failure> {
            Ok(())
        }
    }

    #[test]
    fn rows_wait_only_while_holding() {
        assert!(!with(|n: &mut Numbers| n.0.push(1)));
        let holding = Holding::start();
        assert!(with(|n: &mut Numbers| n.0.push(1)));
        assert!(with(|n: &mut Numbers| n.0.push(2)));
        let mut seen = Vec::new();
        assert!(with(|n: &mut Numbers| seen.clone_from(&n.0)));
        assert_eq!(seen, [1, 2]);
        discard();
        assert!(with(|n: &mut Numbers| seen.clone_from(&n.0)));
        assert!(seen.is_empty());
        drop(holding);
        assert!(!with(|n: &mut Numbers| n.0.push(3)));
    }
}
