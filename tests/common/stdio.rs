//! An MCP server over stdio driven by hand: newline-delimited JSON-RPC, every stdout line
//! checked to be JSON-RPC.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};

use serde_json::{Value, json};

/// A stdio session driven by hand: newline-delimited JSON-RPC.
pub struct StdioSession {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl StdioSession {
    pub fn with_args(args: &[&str]) -> StdioSession {
        let mut child = super::bin()
            .arg("mcp")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mcp");
        let out = BufReader::new(child.stdout.take().expect("stdout"));
        StdioSession { child, out }
    }

    pub fn initialize(&mut self) -> Value {
        let init = self.request(
            1,
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "raw-test", "version": "0"}}),
        );
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        init
    }

    /// A tools/call; returns its result.
    pub fn call(&mut self, id: u64, name: &str, arguments: Value) -> Value {
        let resp = self.request(
            id,
            "tools/call",
            json!({"name": name, "arguments": arguments}),
        );
        resp["result"].clone()
    }

    pub fn send(&mut self, msg: Value) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{msg}").expect("write");
        stdin.flush().expect("flush");
    }

    /// Sends a request and returns its response; every stdout line must be JSON-RPC.
    pub fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let mut line = String::new();
            let n = self.out.read_line(&mut line).expect("read stdout");
            assert!(n > 0, "the server closed stdout while {method} was pending");
            let msg: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout is not JSON-RPC ({e}): {line:?}"));
            if msg["id"] == json!(id) {
                return msg;
            }
        }
    }
}

impl Drop for StdioSession {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
