//! How the host interrupts the guest from inside a host function: a pause (step into) or a
//! broken limit. Both travel through wasmi as host errors.

use wasmi::Val;

use crate::trace::FailureKind;

/// Raised by a host function to pause the guest after a host call (step into).
#[derive(Debug)]
pub struct HostPause {
    /// The values the host function returns when the call resumes.
    pub results: Vec<Val>,
}

impl std::fmt::Display for HostPause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("paused after a host call")
    }
}

impl wasmi::errors::HostError for HostPause {}

/// Raised by the host to stop a plugin that broke a limit.
#[derive(Debug)]
pub struct LimitExceeded {
    /// [`FailureKind::HostcallLimit`] and so on.
    pub kind: FailureKind,
    /// What happened.
    pub message: String,
}

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl wasmi::errors::HostError for LimitExceeded {}
