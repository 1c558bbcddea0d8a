//! The exit codes of `kubectl intel`, in one place every surface shares.
//!
//! Commands (`capture`, `serve`, `mcp` and the CLI's own) return the [`Exit`] they ended
//! with; an error carries its own code where its type knows one (a bundle that is invalid
//! or hostile is [`Exit::BadBundle`], see `intel_bundle::BundleError::exit`), and only the
//! binary's `main` turns either into a process exit code. No crate below the CLI reaches
//! into it for a number.

/// How a command ended. The numbers are a documented contract (README, "Exit codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Exit {
    /// Done.
    Ok = 0,
    /// I/O, network or an unexpected failure.
    Failure = 1,
    /// Bad command-line usage (clap's own code).
    Usage = 2,
    /// The input bundle is invalid, hostile or of an unsupported format.
    BadBundle = 3,
    /// `inspect --verify` found files that do not match the manifest.
    Integrity = 4,
    /// `capture` got nothing usable from the cluster.
    NothingCaptured = 5,
    /// `impact --fail-on` matched the simulated verdict.
    VerdictFailed = 6,
}

impl Exit {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::Exit;

    /// The codes are a contract with scripts: they never move.
    #[test]
    fn codes_are_stable() {
        let all = [
            (Exit::Ok, 0),
            (Exit::Failure, 1),
            (Exit::Usage, 2),
            (Exit::BadBundle, 3),
            (Exit::Integrity, 4),
            (Exit::NothingCaptured, 5),
            (Exit::VerdictFailed, 6),
        ];
        for (exit, code) in all {
            assert_eq!(exit.code(), code, "{exit:?}");
        }
    }
}
