//! Paging through an account's own rows (ledger entries, reservations): the count, the
//! empty answer for an account with none, the account's currency and the page are read the
//! same way for each; only the table, its order and its row type differ.

use credence_domain::ids::CustomerId;
use credence_domain::listing::{Page, PageRequest};
use credence_domain::ports::StoreError;
use credence_domain::values::CurrencyCode;

use super::rows::currency_of;
use crate::Store;
use crate::database::AnyConnection;
use crate::error::Failure;
use crate::paging;

/// One page of an account's rows: `count` counts them, `load` reads the page `(limit,
/// offset)` with amounts in the account's currency. The currency is looked up only when
/// there is a row to carry it, so an account without rows answers an empty page without that
/// read.
pub(super) async fn account_page<T: Send + 'static>(
    store: &Store,
    account: CustomerId,
    page: PageRequest,
    count: impl FnOnce(&mut AnyConnection, i64) -> Result<i64, Failure> + Send + 'static,
    load: impl FnOnce(&mut AnyConnection, i64, (i64, i64), CurrencyCode) -> Result<Vec<T>, Failure>
    + Send
    + 'static,
) -> Result<Page<T>, StoreError> {
    let bounds = paging::bounds(page);
    Ok(store
        .database()
        .read(move |conn| {
            let count = count(conn, account.get())?;
            if count == 0 {
                return Ok(Page {
                    items: Vec::new(),
                    total: 0,
                });
            }
            let currency = currency_of(conn, account.get())?;
            Ok(paging::page(
                load(conn, account.get(), bounds, currency)?,
                count,
            ))
        })
        .await?)
}
