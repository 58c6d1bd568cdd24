//! The import's unit of work ([`ImportUnits`]): a copy of the store whose database runs
//! every call in one transaction ([`crate::database::session`]), so each port the import's
//! use cases call is the store's usual one, statement for statement, only inside that
//! transaction. Marks are savepoints.

use std::sync::Arc;

use async_trait::async_trait;
use credence_domain::customers::Customer;
use credence_domain::customers::service::ReferencePorts;
use credence_domain::ports::{
    AccountLedger, CustomerRepository, ImportUnit, ImportUnits, Marks, StoreError,
};
use diesel::prelude::*;

use crate::Store;
use crate::customers::{CustomerRow, assemble, has_children, live};
use crate::database::replanned::Replanned;
use crate::database::write_behind;
use crate::events::take_turns;
use crate::schema::customers;

#[async_trait]
impl ImportUnits for Store {
    async fn begin(&self, marks: Marks) -> Result<Box<dyn ImportUnit>, StoreError> {
        self.database.refresh_statistics(&GROWN).await;
        let database = self.database.begin_unit(marks).await?;
        Ok(Box::new(StoreUnit {
            store: Store {
                database,
                ..self.clone()
            },
        }))
    }

    fn lanes(&self) -> usize {
        self.database.unit_lanes()
    }

    fn batch_lines(&self) -> usize {
        self.database.unit_lines()
    }
}

/// The tables an import grows, whose statistics its statements are planned by.
const GROWN: [&str; 3] = ["customers", "accounts", "customer_terms"];

/// A store whose database is a unit of work.
struct StoreUnit {
    store: Store,
}

#[async_trait]
impl ImportUnit for StoreUnit {
    fn customers(&self) -> Arc<dyn CustomerRepository> {
        Arc::new(self.store.clone())
    }

    fn refs(&self) -> ReferencePorts {
        ReferencePorts {
            categories: Arc::new(self.store.clone()),
            segmentations: Arc::new(self.store.clone()),
            payment_types: Arc::new(self.store.clone()),
            regions: Arc::new(self.store.clone()),
            currencies: Arc::new(self.store.clone()),
            users: Arc::new(self.store.clone()),
        }
    }

    fn ledger(&self) -> Arc<dyn AccountLedger> {
        Arc::new(self.store.clone())
    }

    async fn customers_by_reference(
        &self,
        references: &[String],
    ) -> Result<Vec<Customer>, StoreError> {
        if references.is_empty() {
            return Ok(Vec::new());
        }
        let references = references.to_vec();
        Ok(self
            .store
            .database
            .read(move |conn| {
                let rows: Vec<CustomerRow> = Replanned(
                    live()
                        .filter(customers::reference.eq_any(references))
                        .select(CustomerRow::as_select()),
                )
                .load(conn)?;
                // The batch's lines write these customers' events: their turns in one
                // statement, in id order, before any of them writes (`Outbox`).
                let mut ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
                ids.sort_unstable();
                take_turns(conn, &ids)?;
                let customers = assemble(conn, rows)?;
                write_behind::note_childless(
                    customers
                        .iter()
                        .filter(|c| !has_children(&c.data))
                        .map(|c| c.id.get()),
                );
                Ok(customers)
            })
            .await?)
    }

    async fn mark(&self) -> Result<(), StoreError> {
        Ok(self.store.database.unit()?.mark()?)
    }

    async fn keep(&self) -> Result<(), StoreError> {
        Ok(self.store.database.unit()?.keep()?)
    }

    async fn undo(&self) -> Result<(), StoreError> {
        Ok(self.store.database.unit()?.undo()?)
    }

    async fn spoiled(&self) -> Result<bool, StoreError> {
        Ok(self.store.database.unit()?.spoiled().await?)
    }

    async fn commit(&self) -> Result<(), StoreError> {
        Ok(self.store.database.unit()?.end(true).await?)
    }

    async fn rollback(&self) -> Result<(), StoreError> {
        Ok(self.store.database.unit()?.end(false).await?)
    }
}
