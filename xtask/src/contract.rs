//! `cargo xtask contract`: the OpenAPI document against the live server. Builds `credence`
//! (debug), starts `credence serve` on a fresh SQLite database with the demo data on a free
//! port, and runs [schemathesis] (pinned, installed from PyPI into a virtual environment under
//! `target/contract-venv`) against its `/openapi.json`: every check, a bounded number of
//! examples per operation, once with an admin key and once with a customer key. Exits
//! non-zero on any failure; the reports are left under `target/contract/`.
//!
//! Options: `--examples N` per operation (default [`EXAMPLES`]), `--seed N` (default
//! [`SEED`], so a run repeats the last one), `--workers N` (default 2).
//!
//! What schemathesis cannot know is told in [`CONFIG`], each with its reason.
//!
//! [schemathesis]: https://schemathesis.readthedocs.io

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::chaos::{self, Replica, Scratch};

/// The schemathesis release the contract is checked with.
const SCHEMATHESIS: &str = "4.32.5";

/// Examples per operation and phase.
const EXAMPLES: u32 = 25;

/// The generator's seed: the same seed asks the same questions.
const SEED: u64 = 20_261_205;

/// How long the server may take to answer `/health/ready`.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// schemathesis' configuration: what a schema cannot say, operation by operation, each with
/// its reason. A valid request (`positive_data_acceptance`) may still be refused where the
/// rule depends on what is stored or on several fields at once, which no JSON Schema can say;
/// one body read the same way by six operations is covered once; and one check is off where
/// schemathesis cannot judge the body it sent.
const CONFIG: &str = r#"
# Every check (named here rather than on the command line, so an operation below can turn one
# off).
[checks]
enabled = true

[generation]
# Examples found in one run are not replayed in the next: each run asks the same questions.
database = "none"
# The key is given with -H; generated credentials would only ever be refused.
with-security-parameters = false

# A customer write is refused with 400 for a reference another customer has (not_unique), and
# for rules between fields that may be stored rather than sent: a sub-customer needs a parent,
# due-date terms need their days, a credit limit has at most its currency's decimals; a
# customer with live sub-customers is not deleted (delete_failed). With an If-Match that is
# not the customer's current ETag (any generated one), a write is 412.
[[operations]]
include-name-regex = "^(POST|PUT|PATCH|DELETE) /api/v1\\.0/customers(/\\{id\\}|/reference/\\{reference\\})?$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "412", "429", "5xx"]

# The six customer writes read one body the same way (CustomerForm): the coverage phase's
# thousands of boundary values of its fields run on one of them.
[[operations]]
include-name-regex = "^(POST /api/v1\\.0/customers(/\\{id\\}|/reference/\\{reference\\})?|PUT /api/v1\\.0/customers/\\{id\\}|PATCH /api/v1\\.0/customers/reference/\\{reference\\})$"
phases.coverage.enabled = false

# A bulk import's body is CSV or NDJSON text: a CSV header must name customer fields, once
# each and `reference` among them (400), which a string schema cannot say.
[[operations]]
include-name-regex = "^POST /api/v1\\.0/customers/import$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

# Reference data: a reference or a code another row has (not_unique); a row still in use
# cannot be deleted (delete_failed).
[[operations]]
include-name-regex = "^(POST|PUT|PATCH|DELETE) /api/v1\\.0/(customerCategories|customerSegmentations|paymentTypes|regions|currencies|users)(/\\{id\\})?$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

# The upload's body is multipart with a file. To make a text part invalid, schemathesis
# appends `*`, which this document's text rule allows, then checks the body as sent; it cannot
# read a body holding a file, so it would report every such part the server rightly accepts.
[[operations]]
include-name-regex = "^POST /api/v1\\.0/documents/content$"
checks.negative_data_rejection.enabled = false

# A search has at most 32 terms, counted after case folding and accents are removed, which
# no pattern can count exactly.
[[operations]]
include-name-regex = "^GET /api/v1\\.0/customers/search$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

# Money: an amount has at most the decimals of the account's currency, which is stored (400);
# credit beyond what is available, a customer on hold or inactive, an Idempotency-Key already
# used with another body are refused (422). With an If-Match that is not the account's
# current ETag (any generated one), a write that moves the account is 412.
[[operations]]
include-name-regex = "^(POST|PUT) /api/v1\\.0/customers/\\{id\\}/account/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "412", "422", "429", "5xx"]

# A statement's period must end after it starts (`to` after `from`): a rule between two
# parameters, which no schema can say (400).
[[operations]]
include-name-regex = "^GET /api/v1\\.0/customers/\\{id\\}/account/statement$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

# An order's input is checked against its stored template and product (400); it is refused
# for credit, or for an Idempotency-Key already used with another body (422).
[[operations]]
include-name-regex = "^POST /api/marketplace/v2/customer/tasks$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "422", "429", "5xx"]

# A template's attribute values are checked against its stored product's attributes; a
# product's price has at most its currency's decimals; a webhook URL may not resolve to a
# private address (400). With an If-Match that is not the product's or template's current
# ETag (any generated one), a write is 412.
[[operations]]
include-name-regex = "^(POST|PUT) /api/(marketplace/v2/customer/task_templates|v1\\.0/products/\\{code\\})|^(POST|PATCH) /api/v1\\.0/webhookEndpoints"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "412", "429", "5xx"]

# A withdrawal or deletion with an If-Match that is not the current ETag is 412.
[[operations]]
include-name-regex = "^DELETE /api/(marketplace/v2/customer/task_templates/\\{code\\}|v1\\.0/products/\\{code\\})$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "412", "429", "5xx"]
"#;

struct Options {
    examples: u32,
    seed: u64,
    workers: u32,
}

fn options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        examples: EXAMPLES,
        seed: SEED,
        workers: 2,
    };
    for pair in args.chunks(2) {
        let [name, value] = pair else {
            bail!("{} needs a value", pair[0]);
        };
        let number = || {
            value
                .parse()
                .with_context(|| format!("{name} takes a number"))
        };
        match name.as_str() {
            "--examples" => options.examples = u32::try_from(number()?)?,
            "--seed" => options.seed = number()?,
            "--workers" => options.workers = u32::try_from(number()?)?,
            other => bail!("unknown option {other}; use --examples N --seed N --workers N"),
        }
    }
    Ok(options)
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = options(args)?;
    let started = Instant::now();
    let target = target_dir();
    let schemathesis = install(&target.join("contract-venv"))?;
    let binary = chaos::build_credence(false)?;
    let scratch = Scratch::new("contract")?;
    let url = format!("sqlite://{}", scratch.0.join("credence.db").display());
    crate::floor::migrate(&binary, &url)?;
    let keys = demo(&binary, &url)?;
    let mut server = start(&binary, &url, &scratch.0)?;
    let config = scratch.0.join("schemathesis.toml");
    std::fs::write(&config, CONFIG).context("cannot write schemathesis.toml")?;
    let reports = target.join("contract");
    let mut failed = Vec::new();
    // A customer key may use its own customer and the marketplace; every other operation
    // answers it 403 before reading anything, which the admin run's checks cover.
    let runs = [
        ("admin", &keys.admin, ".*"),
        (
            "customer",
            &keys.customer,
            "^/api/(marketplace/|v1\\.0/customers/me$)",
        ),
    ];
    for (role, key, paths) in runs {
        println!("== schemathesis, {role} key");
        let role_started = Instant::now();
        // Only this run's reports.
        let _ = std::fs::remove_dir_all(reports.join(role));
        let status = Command::new(&schemathesis)
            // Its cache goes to the working directory.
            .current_dir(&scratch.0)
            .arg("--config-file")
            .arg(&config)
            .args(["run", &format!("{}/openapi.json", server.base())])
            .args(["--include-path-regex", paths])
            .args(["--header", &format!("Authorization: Bearer {key}")])
            .args(["--max-examples", &options.examples.to_string()])
            .args(["--seed", &options.seed.to_string()])
            .args(["--workers", &options.workers.to_string()])
            .args(["--report", "junit,ndjson", "--report-dir"])
            .arg(reports.join(role))
            .stdin(Stdio::null())
            .status()
            .context("cannot run schemathesis")?;
        println!(
            "== {role} key: {} in {} s",
            if status.success() { "passed" } else { "FAILED" },
            role_started.elapsed().as_secs()
        );
        if !status.success() {
            failed.push(role);
        }
    }
    server.kill();
    std::fs::copy(server.log(), reports.join("server.log"))
        .context("cannot keep the server's log")?;
    println!(
        "contract run: {} s in all; reports and the server's log in {}",
        started.elapsed().as_secs(),
        reports.display()
    );
    if !failed.is_empty() {
        bail!(
            "the server does not answer as its OpenAPI document says (the {} key runs)",
            failed.join(" and ")
        );
    }
    Ok(())
}

/// `credence serve` on a free port, ready. The port was free when it was picked; should
/// another process take it first, the server does not start (its log never says it listens
/// there), and it is started again on another.
fn start(binary: &Path, url: &str, dir: &Path) -> anyhow::Result<Replica> {
    let env = [
        // Schemathesis sends bad credentials on purpose, all from one address.
        ("CREDENCE_AUTH_FAILURES_PER_MINUTE", "1000000".to_owned()),
        // This is the debug build, under two fuzzing workers: a legitimate write that holds
        // SQLite's one writer for more than the default half second (a category change
        // touching every customer the run put in it) would turn a concurrent write into a
        // `503`, which is load shedding, not what this run checks.
        ("CREDENCE_POOL_TIMEOUT_MS", "10000".to_owned()),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = chaos::http_client()?;
    for attempt in 0..3 {
        let mut server = Replica::start_with(binary, url, dir, attempt, &env)?;
        let ready = runtime.block_on(chaos::wait_ready(&client, &mut server, READY_WITHIN));
        let log = std::fs::read_to_string(server.log()).unwrap_or_default();
        if ready.is_ok() && log.contains(&format!("\"port\":{}", server.port())) {
            let served: serde_json::Value = runtime.block_on(async {
                client
                    .get(format!("{}/openapi.json", server.base()))
                    .send()
                    .await?
                    .json()
                    .await
            })?;
            if served != serde_json::to_value(credence_http::openapi())? {
                bail!(
                    "{} serves another OpenAPI document than this tree's: a build raced an edit; \
                     touch crates/credence-http/src and run again",
                    binary.display()
                );
            }
            return Ok(server);
        }
        server.kill();
    }
    bail!(
        "credence serve did not start; see the logs in {}",
        dir.display()
    )
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| crate::root().join("target"), PathBuf::from)
}

/// The virtual environment's `schemathesis`, installed at [`SCHEMATHESIS`] unless it is
/// there already.
fn install(venv: &Path) -> anyhow::Result<PathBuf> {
    let bin = venv.join("bin");
    let schemathesis = bin.join("schemathesis");
    let installed = Command::new(&schemathesis)
        .arg("--version")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(SCHEMATHESIS));
    if installed {
        return Ok(schemathesis);
    }
    println!(
        "installing schemathesis {SCHEMATHESIS} into {}...",
        venv.display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv)
        .status()
        .context("cannot run python3 (Python 3.10 or later is needed)")?;
    if !status.success() {
        bail!("python3 -m venv {} failed", venv.display());
    }
    let status = Command::new(bin.join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("schemathesis=={SCHEMATHESIS}"))
        .status()
        .context("cannot run pip")?;
    if !status.success() {
        bail!("pip install schemathesis=={SCHEMATHESIS} failed");
    }
    Ok(schemathesis)
}

/// The keys `credence demo` prints.
struct Keys {
    admin: String,
    customer: String,
}

/// Loads the demo data (products, customers with credit, a template) and keeps its keys.
fn demo(binary: &Path, url: &str) -> anyhow::Result<Keys> {
    let text = crate::floor::credence(binary, url, "demo")?;
    let key = |label: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{label} key: ")))
            .map(str::to_owned)
            .with_context(|| format!("credence demo printed no {label} key"))
    };
    Ok(Keys {
        admin: key("admin")?,
        customer: key("customer")?,
    })
}
