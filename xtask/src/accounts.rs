//! `cargo xtask bench accounts`: `/accounts` (accounts across customers) on the customer
//! benchmark's generated data, a page of 100 with its total for each of [`CASES`].
//!
//! The generated accounts hold no money; before timing, each gets a balance drawn from its id
//! (once: only accounts still at zero are touched), so some are over their limit and the
//! utilization filters have something to find. Options as `bench list` (`--rows`,
//! `--iterations`, `--fresh`, `--sqlite`). Never run in CI.

use std::time::Instant;

use credence_domain::credit::{AccountQuery, AccountSort, Utilization};
use credence_domain::listing::{Order, PageRequest};
use credence_domain::ports::AccountLedger;
use credence_store::Store;
use credence_store::bench_support::vary_balances;
use rust_decimal::Decimal;

use crate::bench::{Target, percentile, show};

/// A case: its label, as the query string a client sends, and the query.
struct Case {
    label: &'static str,
    over_limit: Option<bool>,
    utilization_above: Option<(i64, u32)>,
    sort: AccountSort,
    order: Order,
}

const CASES: &[Case] = &[
    Case {
        label: "(no filter)",
        over_limit: None,
        utilization_above: None,
        sort: AccountSort::CustomerId,
        order: Order::Asc,
    },
    Case {
        label: "sort=available",
        over_limit: None,
        utilization_above: None,
        sort: AccountSort::Available,
        order: Order::Asc,
    },
    Case {
        label: "overLimit=true&sort=available",
        over_limit: Some(true),
        utilization_above: None,
        sort: AccountSort::Available,
        order: Order::Asc,
    },
    Case {
        label: "utilizationAbove=0.8",
        over_limit: None,
        utilization_above: Some((8, 1)),
        sort: AccountSort::CustomerId,
        order: Order::Asc,
    },
    Case {
        label: "sort=utilization&order=desc",
        over_limit: None,
        utilization_above: None,
        sort: AccountSort::Utilization,
        order: Order::Desc,
    },
];

/// `cargo xtask bench accounts`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    crate::bench::run(
        args,
        "accounts across customers",
        (" p50 | p99 |", "---|---|"),
        |target, store, iterations| Box::pin(measure(target, store, iterations)),
    )
}

async fn measure(target: &Target<'_>, store: &Store, iterations: usize) -> anyhow::Result<()> {
    vary_balances(store.database())?;
    let ledger: &dyn AccountLedger = store;
    for case in CASES {
        let utilization_above = case
            .utilization_above
            .map(|(mantissa, scale)| Utilization::new(Decimal::new(mantissa, scale)))
            .transpose()?;
        let query = AccountQuery {
            over_limit: case.over_limit,
            utilization_above,
            within: None,
            sort: case.sort,
            order: case.order,
            page: PageRequest::new(Some(100), None)?,
        };
        // Warm the caches first: the figures are for a running server.
        let mut total = 0;
        for _ in 0..3 {
            total = ledger.overview(&query).await?.total;
        }
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations.max(1) {
            let started = Instant::now();
            ledger.overview(&query).await?;
            samples.push(started.elapsed());
        }
        samples.sort();
        println!(
            "| {} | `{}` | {total} | {} | {} |",
            target.backend,
            case.label,
            show(percentile(&samples, 50)),
            show(percentile(&samples, 99))
        );
    }
    Ok(())
}
