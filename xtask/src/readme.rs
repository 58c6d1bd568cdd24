//! `cargo xtask readme`: runs the README's walk-through exactly as written and fails when an
//! answer differs from the one the README writes beside its command.
//!
//! The walk-through is every `sh` block of the sections [`SECTIONS`], in order, run as one
//! bash script from the repository's root (`set -euo pipefail`), on a fresh SQLite database in
//! a temporary directory and a free port (`CREDENCE_DATABASE_URL`, `CREDENCE_BIND`; no other
//! `CREDENCE_*` variable of the caller's gets through). The README starts its server in the
//! background and stops it; whatever the script leaves running is killed with its process
//! group.
//!
//! Every command that calls `curl` ends with its expected answer as a comment:
//!
//! ```text
//! curl ... $V1/customers -d reference=NC-4 -d name=Shop   # 201 reference=NC-4 name=Shop (a new customer)
//! ```
//!
//! the status, then checks, then words in parentheses for the reader. A check is
//! `path=value` on the JSON body (`path` names members and array indexes with dots,
//! `data.0.name`; `value` is compared as text, as a number, or as JSON, and may be quoted,
//! `name="Marie's Jewelry"`; `*` alone means present and not null, a trailing `*` a prefix),
//! or `<text>`, which the body (XML, say) must contain. `curl` is a shell function in the
//! script that records each answer's status and body, then hands the body on unchanged.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::chaos::Scratch;

/// The README's sections that make up the walk-through, in order.
const SECTIONS: [&str; 3] = ["The first key", "A demo order", "The API in brief"];

/// How long the walk-through may take, a first build of the server included.
const TIME_LIMIT: Duration = Duration::from_secs(900);

/// Runs the walk-through and checks every answer.
pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(arg) = args.first() {
        bail!("usage: cargo xtask readme (unknown argument {arg})");
    }
    let started = Instant::now();
    let root = crate::root();
    let readme =
        std::fs::read_to_string(root.join("README.md")).context("cannot read README.md")?;
    let commands = walk_through(&readme)?;
    let expected: Vec<&Step> = commands.iter().filter(|c| c.expect.is_some()).collect();
    let scratch = Scratch::new("readme")?;
    let script = script(&commands, &scratch.0);
    std::fs::write(scratch.0.join("walk-through.sh"), &script)?;
    let log = scratch.0.join("walk-through.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    println!(
        "README walk-through: {} commands, {} answers to check, server on 127.0.0.1:{port}",
        commands.len(),
        expected.len()
    );
    let status = run_script(&root, &scratch.0, port, &log)?;

    let mut failures = Vec::new();
    for (index, command) in commands.iter().enumerate() {
        let Some(expect) = &command.expect else {
            continue;
        };
        let read = |ext: &str| std::fs::read(scratch.0.join(format!("{index}.{ext}")));
        let (Ok(got), Ok(body)) = (read("status"), read("body")) else {
            failures.push(format!(
                "README.md:{}: not reached (the walk-through stopped before it)",
                command.line
            ));
            break;
        };
        let got = String::from_utf8_lossy(&got).trim().to_owned();
        if let Err(why) = expect.check(&got, &body) {
            failures.push(format!(
                "README.md:{}: {}\n  expected: {}\n  {why}\n  body: {}",
                command.line,
                command.first_line(),
                expect.written,
                excerpt(&body)
            ));
        }
    }
    if !status.success() || !failures.is_empty() {
        if !status.success() {
            let log = std::fs::read(&log).unwrap_or_default();
            let tail = &log[log.len().saturating_sub(4000)..];
            eprintln!("---- the end of the walk-through's output ----");
            eprintln!("{}", String::from_utf8_lossy(tail).trim_end());
            eprintln!("---- it exited with {status}");
        }
        for failure in &failures {
            eprintln!("{failure}");
        }
        bail!(
            "the README's walk-through does not run as written ({} of {} answers differ or were not reached)",
            failures.len(),
            expected.len()
        );
    }
    println!(
        "README walk-through: all {} answers as written, in {:.0} s",
        expected.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One command of the walk-through: one line of a block, or several joined by `\`.
#[derive(Debug)]
struct Step {
    /// Its first line in README.md, 1-based.
    line: usize,
    /// The shell text, continuation lines included.
    text: String,
    /// The answer written beside it, for a command that calls `curl`.
    expect: Option<Expect>,
}

impl Step {
    fn first_line(&self) -> &str {
        self.text.lines().next().unwrap_or_default().trim()
    }
}

/// The commands of the walk-through's blocks, in order.
fn walk_through(readme: &str) -> anyhow::Result<Vec<Step>> {
    let mut commands = Vec::new();
    let mut section: Option<&str> = None;
    let mut seen = Vec::new();
    let mut in_block: Option<bool> = None; // Some(true): a walk-through `sh` block
    let mut pending: Option<(usize, String)> = None;
    for (number, line) in readme.lines().enumerate() {
        let number = number + 1;
        if let Some(walk) = in_block {
            if line.trim_start().starts_with("```") {
                if let Some((start, _)) = pending {
                    bail!("README.md:{start}: a command ends its block with `\\`");
                }
                in_block = None;
            } else if walk {
                let (start, mut text) = pending.take().unwrap_or((number, String::new()));
                text.push_str(line);
                if line.trim_end().ends_with('\\') {
                    text.push('\n');
                    pending = Some((start, text));
                } else {
                    commands.push(command(start, text)?);
                }
            }
            continue;
        }
        if let Some(title) = line.strip_prefix("## ") {
            section = SECTIONS.iter().copied().find(|s| *s == title.trim());
            if let Some(section) = section {
                seen.push(section);
            }
        } else if let Some(info) = line.trim_start().strip_prefix("```") {
            let walk = section.is_some() && info.trim() == "sh";
            in_block = Some(walk);
        }
    }
    for wanted in SECTIONS {
        if !seen.contains(&wanted) {
            bail!("README.md has no section `## {wanted}`");
        }
    }
    if commands.is_empty() {
        bail!("README.md's walk-through has no `sh` block");
    }
    Ok(commands)
}

fn command(line: usize, text: String) -> anyhow::Result<Step> {
    let (code, comment) = split_comment(&text);
    let calls_curl = code
        .split_whitespace()
        .any(|word| word.trim_start_matches(['$', '(']) == "curl" || word.ends_with("$(curl"));
    let expect = match comment {
        Some(comment) if calls_curl => Some(
            Expect::parse(comment)
                .with_context(|| format!("README.md:{line}: cannot read the expected answer"))?,
        ),
        None if calls_curl => {
            bail!("README.md:{line}: a curl command without its expected answer (`# 200 ...`)")
        }
        _ => None,
    };
    if calls_curl
        && code
            .split_whitespace()
            .any(|word| word == "-w" || word.starts_with("--write-out"))
    {
        bail!("README.md:{line}: `-w` is the check's own (it records each answer's status)");
    }
    Ok(Step { line, text, expect })
}

/// The command's code and its trailing comment: the first `#` outside quotes that starts a
/// word.
fn split_comment(text: &str) -> (&str, Option<&str>) {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (at, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' && previous.is_whitespace() => {
                return (&text[..at], Some(text[at + 1..].trim()));
            }
            None => {}
        }
        previous = c;
    }
    (text, None)
}

/// An answer as the README writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expect {
    /// The comment, for messages.
    written: String,
    status: String,
    checks: Vec<Check>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Check {
    /// A member of the JSON body and the value it must have.
    Field { path: String, value: String },
    /// Text the body must contain.
    Contains(String),
}

impl Expect {
    fn parse(comment: &str) -> anyhow::Result<Self> {
        let words = words(comment)?;
        let mut words = words.into_iter();
        let status = words.next().unwrap_or_default();
        if status.len() != 3 || !status.chars().all(|c| c.is_ascii_digit()) {
            bail!("`{comment}` does not start with a status");
        }
        let mut checks = Vec::new();
        for word in words {
            if word.starts_with('(') {
                break;
            }
            if word.starts_with('<') && word.ends_with('>') {
                checks.push(Check::Contains(word));
            } else if let Some((path, value)) = word.split_once('=') {
                checks.push(Check::Field {
                    path: path.to_owned(),
                    value: value.to_owned(),
                });
            } else {
                bail!("`{word}` in `{comment}` is neither path=value, <text> nor (words)");
            }
        }
        Ok(Self {
            written: comment.to_owned(),
            status,
            checks,
        })
    }

    /// Whether `status` and `body` are the answer written.
    fn check(&self, status: &str, body: &[u8]) -> Result<(), String> {
        if status != self.status {
            return Err(format!("got status {status}"));
        }
        let text = String::from_utf8_lossy(body);
        let mut json: Option<Result<Value, String>> = None;
        for check in &self.checks {
            match check {
                Check::Contains(part) if !text.contains(part.as_str()) => {
                    return Err(format!("the body does not contain {part}"));
                }
                Check::Contains(_) => {}
                Check::Field { path, value } => {
                    let body = json
                        .get_or_insert_with(|| {
                            serde_json::from_slice(body).map_err(|e| e.to_string())
                        })
                        .as_ref()
                        .map_err(|e| format!("the body is not JSON ({e})"))?;
                    let found = member(body, path).ok_or_else(|| format!("no {path}"))?;
                    if !matches(found, value) {
                        return Err(format!("got {path}={found}"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Whitespace-separated words; a double-quoted stretch (JSON string syntax) stays in one.
fn words(text: &str) -> anyhow::Result<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '"' {
            word.push(c);
            let mut escaped = false;
            loop {
                let Some(c) = chars.next() else {
                    bail!("an unterminated quote in `{text}`");
                };
                word.push(c);
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => break,
                    _ => {}
                }
            }
        } else if c.is_whitespace() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    Ok(words)
}

fn member<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.')
        .try_fold(value, |value, segment| match value {
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?),
            Value::Object(members) => members.get(segment),
            _ => None,
        })
}

/// Whether a JSON value is the one written: `*` anything but null, `text*` a string starting
/// with `text`, a quoted string, a number by value, else the text of a string or JSON.
fn matches(found: &Value, written: &str) -> bool {
    if written == "*" {
        return !found.is_null();
    }
    if let (Some(prefix), Value::String(text)) = (written.strip_suffix('*'), found) {
        return text.starts_with(prefix);
    }
    if written.starts_with('"') {
        return serde_json::from_str::<Value>(written).is_ok_and(|w| w == *found);
    }
    match found {
        Value::String(text) => text == written,
        Value::Number(number) => written
            .parse::<f64>()
            .is_ok_and(|w| number.as_f64() == Some(w)),
        other => serde_json::from_str::<Value>(written).is_ok_and(|w| w == *other),
    }
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut excerpt: String = text.chars().take(400).collect();
    if text.chars().count() > 400 {
        excerpt.push_str("...");
    }
    excerpt.replace('\n', " ")
}

/// The walk-through as one bash script: `curl` records each answer into `dir`, and each
/// command with an expected answer saves it as `{index}.status` and `{index}.body`.
fn script(commands: &[Step], dir: &Path) -> String {
    let dir = dir.display();
    let mut script = format!(
        r#"set -euo pipefail
__dir='{dir}'
__line=0
trap 'echo "README.md:$__line: the command failed" >&2' ERR
curl() {{
    local rc=0
    command curl -w '\n%{{http_code}}' "$@" > "$__dir/answer" || rc=$?
    tail -n 1 "$__dir/answer" > "$__dir/status"
    head -n -1 "$__dir/answer" | head -c -1 > "$__dir/body"
    cat "$__dir/body"
    return $rc
}}
"#
    );
    for (index, command) in commands.iter().enumerate() {
        let _ = writeln!(script, "__line={}", command.line);
        if command.expect.is_some() {
            script.push_str("rm -f \"$__dir/status\" \"$__dir/body\"\n");
        }
        script.push_str(&command.text);
        script.push('\n');
        if command.expect.is_some() {
            let _ = writeln!(
                script,
                "cp \"$__dir/status\" \"$__dir/{index}.status\"; cp \"$__dir/body\" \"$__dir/{index}.body\""
            );
        }
    }
    script
}

/// Runs the script in its own process group, output to `log`; kills the group afterwards.
fn run_script(
    root: &Path,
    dir: &Path,
    port: u16,
    log: &Path,
) -> anyhow::Result<std::process::ExitStatus> {
    use std::os::unix::process::CommandExt as _;
    let output = std::fs::File::create(log)?;
    let mut bash = Command::new("bash");
    bash.arg(dir.join("walk-through.sh"))
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output)
        .process_group(0);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CREDENCE_") {
            bash.env_remove(name);
        }
    }
    bash.env(
        "CREDENCE_DATABASE_URL",
        format!("sqlite://{}", dir.join("credence.db").display()),
    )
    .env("CREDENCE_BIND", format!("127.0.0.1:{port}"))
    // The README stops its server at the end; no load balancer waits for it here.
    .env("CREDENCE_SHUTDOWN_DRAIN_SECS", "0");
    let mut child = bash.spawn().context("cannot run bash")?;
    let group = child.id();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > TIME_LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Whatever the walk-through left running (its server, if it failed before stopping it).
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status();
    match status {
        Some(status) => Ok(status),
        None => {
            let _ = child.wait();
            bail!(
                "the walk-through took longer than {} s",
                TIME_LIMIT.as_secs()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_starts_at_a_hash_outside_quotes() {
        assert_eq!(
            split_comment("curl -d '{\"a\": \"#1\"}' x#y   # 201 a=1"),
            ("curl -d '{\"a\": \"#1\"}' x#y   ", Some("201 a=1"))
        );
        assert_eq!(split_comment("echo \"# not\""), ("echo \"# not\"", None));
    }

    #[test]
    fn expected_answers_read_as_status_checks_and_words() {
        let expect = Expect::parse(
            r#"422 error=credit_limit_exceeded name="Marie's Jewelry" <a> (why not)"#,
        )
        .unwrap();
        assert_eq!(expect.status, "422");
        assert_eq!(
            expect.checks,
            [
                Check::Field {
                    path: "error".into(),
                    value: "credit_limit_exceeded".into()
                },
                Check::Field {
                    path: "name".into(),
                    value: "\"Marie's Jewelry\"".into()
                },
                Check::Contains("<a>".into()),
            ]
        );
        assert!(Expect::parse("answers the secret once").is_err());
        assert!(Expect::parse("201 the secret").is_err());
    }

    #[test]
    fn checks_compare_members_by_value() {
        let body = br#"{"id":4,"name":"Marie's Jewelry","creditLimit":5000.00,"data":[{"ok":true}],"logo":"/a/b.png","none":null}"#;
        let ok = |comment: &str| Expect::parse(comment).unwrap().check("200", body);
        assert_eq!(
            ok("200 id=4 creditLimit=5000 data.0.ok=true logo=/a/* logo=*"),
            Ok(())
        );
        assert_eq!(ok(r#"200 name="Marie's Jewelry""#), Ok(()));
        assert!(ok("201").is_err());
        assert!(ok("200 id=5").is_err());
        assert!(ok("200 none=*").is_err());
        assert!(ok("200 missing=1").is_err());
        assert!(ok("200 data.1.ok=true").is_err());
        assert!(ok("200 <nowhere>").is_err());
    }

    #[test]
    fn every_curl_needs_its_answer() {
        let readme = "## The first key\n```sh\nKEY=x\n```\n## A demo order\n```sh\ncurl -s a \\\n  -d b   # 200\n```\n## The API in brief\n```sh\nID=$(curl -s b)\n```\n";
        let error = walk_through(readme).unwrap_err();
        assert!(format!("{error:#}").contains("README.md:12"), "{error:#}");
        let readme = readme.replace("ID=$(curl -s b)", "ID=$(curl -s b)   # 200 id=*");
        let commands = walk_through(&readme).unwrap();
        assert_eq!(commands.len(), 3);
        assert_eq!((commands[1].line, commands[1].text.lines().count()), (7, 2));
        assert!(commands[0].expect.is_none() && commands[2].expect.is_some());
    }
}
