//! `credence keys list` and `credence keys revoke`: the operator's view of every API key,
//! straight from the database (no principal: whoever runs the binary holds the database).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use credence_domain::access::credentials::ApiKey;
use credence_domain::customers::reference_data::User;
use credence_domain::ports::KeyRegistry;
use credence_store::Store;

use crate::config::Config;
use crate::startup;

/// The keys of the configured database (migrated first, as every command does).
///
/// # Errors
/// When the database cannot be opened or migrated.
pub async fn registry(config: &Config) -> anyhow::Result<Arc<dyn KeyRegistry>> {
    let database = startup::open_database(config).await?;
    Ok(Arc::new(Store::new(database)))
}

/// The keys as an aligned table with a header, one key per line, oldest first; `-` for
/// what is not set. Times are UTC, to the minute.
#[must_use]
pub fn table(keys: &[(ApiKey, User)]) -> String {
    let when = |at: Option<DateTime<Utc>>| {
        at.map_or_else(
            || "-".to_owned(),
            |at| at.format("%Y-%m-%d %H:%M").to_string(),
        )
    };
    let mut rows = vec![
        [
            "ID",
            "NAME",
            "ROLE",
            "USER",
            "CUSTOMER",
            "CREATED",
            "LAST USED",
            "REVOKED",
        ]
        .map(str::to_owned),
    ];
    for (key, user) in keys {
        rows.push([
            key.id.0.to_string(),
            key.name.clone().unwrap_or_else(|| "-".to_owned()),
            user.role.as_str().to_owned(),
            user.reference.as_str().to_owned(),
            user.customer_id
                .map_or_else(|| "-".to_owned(), |c| c.get().to_string()),
            when(Some(key.created_at)),
            when(key.last_used_at),
            when(key.revoked_at),
        ]);
    }
    let mut widths = [0_usize; 8];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
