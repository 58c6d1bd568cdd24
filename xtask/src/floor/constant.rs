//! The floor of a read: an actix-web server (the workspace's actix-web, so the same HTTP
//! stack as Credence) that answers one path with a constant body, run as its own process
//! exactly like Credence, with as many workers. Whatever Credence spends beyond it is
//! Credence's own request path: authentication, middleware, the database, serialization.
//!
//! Started by the benchmark as `xtask bench constant-server --port N --path PATH --body FILE
//! --workers N` (a hidden sub-command: xtask runs itself). It also answers
//! `GET /health/ready`, so it is waited for the way Credence is.

use std::path::PathBuf;

use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::{Context as _, bail};
use bytes::Bytes;

use crate::flags::Flags;

struct Options {
    port: u16,
    path: String,
    body: PathBuf,
    workers: usize,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let (mut port, mut path, mut body, mut workers) = (None, None, None, None);
    let mut flags = Flags::new(args);
    while let Some(flag) = flags.option() {
        match flag {
            "--port" => port = Some(flags.parse()?),
            "--path" => path = Some(flags.value()?.clone()),
            "--body" => body = Some(PathBuf::from(flags.value()?)),
            "--workers" => workers = Some(flags.parse()?),
            other => {
                bail!("unknown option {other}; use --port N --path PATH --body FILE --workers N")
            }
        }
    }
    Ok(Options {
        port: port.context("--port is required")?,
        path: path.context("--path is required")?,
        body: body.context("--body is required")?,
        workers: workers.context("--workers is required")?,
    })
}

/// `xtask bench constant-server`: serves until killed.
pub fn serve(args: &[String]) -> anyhow::Result<()> {
    let options = parse(args)?;
    let body = Bytes::from(
        std::fs::read(&options.body)
            .with_context(|| format!("cannot read {}", options.body.display()))?,
    );
    let path = options.path.clone();
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let body = body.clone();
            App::new()
                .route(
                    &path,
                    web::get().to(move || {
                        let body = body.clone();
                        async move {
                            HttpResponse::Ok()
                                .content_type("application/json")
                                .body(body)
                        }
                    }),
                )
                .route("/health/ready", web::get().to(HttpResponse::Ok))
        })
        .workers(options.workers.max(1))
        .bind(("127.0.0.1", options.port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", options.port))?
        .run()
        .await
        .context("the constant server failed")
    })
}
