//! What a chaos run concludes: the checks it records ([`Verdict`]), and the database
//! checks every run ends with (every acknowledged write stored, each key's money moved at
//! most once, the ledger invariant), read with `psql`.

#[allow(
    clippy::wildcard_imports,
    reason = "split from the parent module, whose items it uses"
)]
use super::*;

/// Runs `psql` against one database and returns its unaligned rows.
pub(super) fn psql(port: u16, database: &str, sql: &str) -> anyhow::Result<Vec<Vec<String>>> {
    let output = Command::new("psql")
        .args(["-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"])
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            database,
        ])
        .args(["-c", sql])
        .output()
        .context("cannot run psql")?;
    if !output.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect())
}

/// The database-side checks and their figures.
#[derive(Debug, Default)]
pub(super) struct Verdict {
    pub(super) failures: Vec<String>,
}

impl Verdict {
    pub(super) fn check(&mut self, ok: bool, what: impl Into<String>) {
        let what = what.into();
        println!("  [{}] {what}", if ok { "ok" } else { "FAILED" });
        if !ok {
            self.failures.push(what);
        }
    }

    pub(super) fn finish(self) -> anyhow::Result<()> {
        if self.failures.is_empty() {
            println!("all checks passed");
            Ok(())
        } else {
            bail!(
                "{} check(s) failed: {}",
                self.failures.len(),
                self.failures.join("; ")
            )
        }
    }
}

/// Every acknowledged write is stored, each key moved money at most once (exactly once when
/// acknowledged, first time or on retry), and each account's balance and reserved amount
/// equal the sums of its ledger, the reserved amount also the sum of its open reservations.
pub(super) fn verify_database(
    verdict: &mut Verdict,
    port: u16,
    database: &str,
    run: &str,
    journal: &[(Op, Answer)],
    retries: &BTreeMap<String, Answer>,
) -> anyhow::Result<()> {
    let like = format!("chaos-{run}-%");
    let payments = psql(
        port,
        database,
        &format!(
            "SELECT description, count(*), min(id) FROM ledger_entries \
             WHERE kind = 'payment' AND description LIKE '{like}' GROUP BY description"
        ),
    )?;
    let admissions = psql(
        port,
        database,
        &format!(
            "SELECT description, count(*), min(id) FROM reservations \
             WHERE description LIKE '{like}' GROUP BY description"
        ),
    )?;
    let mut stored: HashMap<String, (u64, i64)> = HashMap::new();
    for row in payments.iter().chain(&admissions) {
        if let [key, count, id] = row.as_slice() {
            stored.insert(key.clone(), (count.parse()?, id.parse()?));
        }
    }
    let mut acknowledged = 0;
    let mut missing = Vec::new();
    let mut wrong_id = 0;
    for (op, answer) in journal {
        let answer = retries
            .get(&op.key)
            .filter(|_| !answer.ok())
            .unwrap_or(answer);
        if answer.ok() {
            acknowledged += 1;
            match stored.get(&op.key) {
                Some((_, id)) if answer.id == Some(*id) => {}
                Some(_) => wrong_id += 1,
                None => missing.push(op.key.clone()),
            }
        }
    }
    let twice: Vec<&String> = stored
        .iter()
        .filter(|(_, (n, _))| *n > 1)
        .map(|(k, _)| k)
        .collect();
    let known: HashSet<&str> = journal.iter().map(|(op, _)| op.key.as_str()).collect();
    let stray = stored
        .keys()
        .filter(|k| !known.contains(k.as_str()))
        .count();
    verdict.check(
        missing.is_empty() && wrong_id == 0,
        format!(
            "every acknowledged write is stored: {acknowledged} acknowledged, {} missing, \
             {wrong_id} stored under another id{}",
            missing.len(),
            missing
                .first()
                .map_or_else(String::new, |k| format!(" (first: {k})"))
        ),
    );
    verdict.check(
        twice.is_empty() && stray == 0,
        format!(
            "at most one movement per Idempotency-Key: {} keys stored, {} stored twice, {stray} \
             unknown",
            stored.len(),
            twice.len()
        ),
    );
    let broken = psql(
        port,
        database,
        "SELECT a.customer_id, a.balance, a.reserved, \
           COALESCE((SELECT sum(balance_delta) FROM ledger_entries l WHERE l.account_id = a.customer_id), 0), \
           COALESCE((SELECT sum(reserved_delta) FROM ledger_entries l WHERE l.account_id = a.customer_id), 0), \
           COALESCE((SELECT sum(amount) FROM reservations r WHERE r.account_id = a.customer_id AND r.status = 'open'), 0) \
         FROM accounts a",
    )?;
    let bad: Vec<String> = broken
        .iter()
        .filter(|r| r.len() == 6 && (r[1] != r[3] || r[2] != r[4] || r[2] != r[5]))
        .map(|r| r.join(" "))
        .collect();
    verdict.check(
        !broken.is_empty() && bad.is_empty(),
        format!(
            "ledger invariant (balance = sum of entries, reserved = sum of entries = open \
             reservations) on {} accounts{}",
            broken.len(),
            bad.first()
                .map_or_else(String::new, |r| format!("; broken: {r}"))
        ),
    );
    Ok(())
}

/// Counts of the answers, by status (`none` for no answer).
pub(super) fn statuses<'a>(answers: impl Iterator<Item = &'a Answer>) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for answer in answers {
        let key = answer
            .status
            .map_or_else(|| "none".to_owned(), |s| s.to_string());
        *counts.entry(key).or_default() += 1;
    }
    counts
        .iter()
        .map(|(s, n)| format!("{s}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The retry phase's figures: how each unanswered request ended.
pub(super) fn report_retries(verdict: &mut Verdict, retries: &BTreeMap<String, Answer>) {
    let replayed = retries.values().filter(|a| a.ok() && a.replayed).count();
    let fresh = retries.values().filter(|a| a.ok() && !a.replayed).count();
    let unsettled = retries.values().filter(|a| !a.ok()).count();
    println!(
        "retried with the same Idempotency-Key: {} requests; {replayed} replayed the first \
         answer, {fresh} applied now (the first never was, or answers the first effect), \
         {unsettled} without a 2xx ({})",
        retries.len(),
        statuses(retries.values().filter(|a| !a.ok()))
    );
    verdict.check(
        retries
            .values()
            .all(|a| a.status.is_some_and(|s| s < 500 && s != 409)),
        "every retried request got a definite answer",
    );
}
