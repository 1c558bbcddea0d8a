//! `kubectl intel mcp`: the Model Context Protocol server. It exposes the snapshot
//! primitives (resources, events, logs, metrics, timeline, service map) and the analyses as
//! MCP tools, each cluster's manifest and summary as resources, and the incident workflows
//! as prompts, so an AI assistant can investigate a cluster from evidence.
//!
//! Transports: stdio by default (what Claude Desktop, VS Code and Cursor launch; stdout is
//! the protocol, so nothing here ever prints to it), streamable HTTP with `--listen`
//! ([`http`]). Sources: bundles (no network, no kubeconfig) and live contexts, captured on
//! first use and cached ([`clusters`]).
//!
//! Owns the protocol surface only: what a tool answers comes from the model, the engines
//! and the analyses; this module turns it into paged, quoted, schema-described answers.
//! Must never: write to a cluster, print to stdout in stdio mode, return a Secret's values,
//! mix untrusted cluster text (logs, event messages, annotations) into instructions.

mod cache;
mod clusters;
pub mod http;
mod markdown;
mod page;
mod prompts;
mod resources;
mod server;
mod tools;
mod tools_analysis;
mod tools_data;
mod tools_drplan;
mod tools_events;
mod tools_graph;
mod tools_impact;
mod tools_logs;
mod tools_optimize;
mod tools_schedule;

use intel_exit::Exit;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use intel_source::SourceArgs;

pub use clusters::Clusters;
pub use server::IntelServer;

#[derive(Args, Debug, Clone)]
#[command(
    after_help = "Examples:\n  kubectl intel mcp --bundle prod.intel.tar.zst\n  kubectl intel mcp --context prod --context staging\n  kubectl intel mcp --bundle prod.intel.tar.zst --listen 127.0.0.1:8765\n  kubectl intel mcp --context prod --listen 0.0.0.0:8765 --token-file ~/.config/intel/token\n\nSee docs/mcp.md for Claude Desktop, VS Code and Cursor configuration."
)]
pub struct McpArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Serve streamable HTTP on this address (at /mcp) instead of stdio. Loopback unless
    /// --token-file is given; port 0 picks a free port (printed on stderr).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// A file holding the bearer token HTTP clients must send (`Authorization: Bearer …`).
    /// Required to listen beyond loopback.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Live contexts: seconds a capture is reused before the next tool call captures again.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub max_age: u64,
    /// With --listen: MCP sessions open at once; a new one past it gets 503 until one
    /// closes or an idle one expires (after five minutes).
    #[arg(long, value_name = "N", default_value_t = http::DEFAULT_MAX_SESSIONS)]
    pub max_sessions: usize,
}

/// Starts the server and runs until the client disconnects (stdio) or a signal (HTTP).
pub fn run(args: McpArgs) -> anyhow::Result<Exit> {
    // Refuse a public listener without a token before loading anything: the mistake should
    // cost nothing and say what to do.
    let token = match (&args.listen, &args.token_file) {
        (_, Some(path)) => Some(http::read_token(path)?),
        (Some(addr), None) if !addr.ip().is_loopback() => {
            eprintln!(
                "error: refusing to listen on {addr} (not loopback) without --token-file: anyone who can reach it could read the clusters"
            );
            return Ok(Exit::Usage);
        }
        _ => None,
    };
    let clusters = Clusters::load(&args.source, Duration::from_secs(args.max_age))?;
    for w in clusters.warnings() {
        eprintln!("warning: {w}");
    }
    let server = IntelServer::new(Arc::new(clusters));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match args.listen {
            Some(addr) => http::serve(server, addr, token, args.max_sessions).await,
            None => serve_stdio(server).await,
        }
    })?;
    Ok(Exit::Ok)
}

async fn serve_stdio(server: IntelServer) -> anyhow::Result<()> {
    use rmcp::ServiceExt as _;
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .context("MCP handshake over stdio failed")?;
    running
        .waiting()
        .await
        .context("MCP stdio session failed")?;
    Ok(())
}
