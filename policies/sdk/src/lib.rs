//! The policy SDK: what a policy author sees of the armsledger policy ABI.
//!
//! ABI v1 (fixed in plugins/ABI.md) is JSON in, JSON out, through five exports and no
//! imports. This crate names its constants; the `evaluate` macro and the request and
//! decision types come with the policy host.
#![no_std]

/// The ABI version a module built with this SDK implements (`policy_abi_version`).
pub const ABI_VERSION: i32 = 1;

/// What a policy may decide about an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Allow,
    Deny,
    RequireConsultation,
    RequireApproval,
    RequireNotification,
}

impl Outcome {
    /// The outcome's name in the decision JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::RequireConsultation => "require_consultation",
            Outcome::RequireApproval => "require_approval",
            Outcome::RequireNotification => "require_notification",
        }
    }
}
