#![forbid(unsafe_code)]
//! The output pipeline's settings: text format, redaction, caps per impact class. `config` reads
//! them from the file; nothing here reads files.

use std::sync::{Arc, LazyLock};

use serde::Deserialize;

use super::caps::Limits as CapLimits;
use super::redact::{RedactionSettings, Redactor};
use crate::scope::Impact;

/// How the text block of a tool result is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Toon,
}

/// The output pipeline's settings: text format, redaction, caps per impact class.
#[derive(Debug, Clone)]
pub struct Settings {
    pub format: Format,
    /// `None`: the built-in redaction settings (compiled once, on first use or by
    /// `warm_default_redactor`, so that they do not delay the first response).
    configured_redactor: Option<Arc<Redactor>>,
    /// Whether redaction does anything (some field glob or pattern); false after
    /// `redaction.enabled: false` or with every rule removed. Reloads record turning it off.
    redaction_on: bool,
    /// Caps for minimal, low and medium tools, in that order.
    pub caps: [CapLimits; 3],
}

/// The built-in redactor. Its settings are constants; `redact`'s unit tests prove they compile.
static DEFAULT_REDACTOR: LazyLock<Redactor> = LazyLock::new(|| {
    Redactor::new(&RedactionSettings::default()).expect("built-in redaction settings compile")
});

/// Compile the built-in redactor now (from a background thread at startup).
pub fn warm_default_redactor() {
    LazyLock::force(&DEFAULT_REDACTOR);
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            format: Format::Json,
            configured_redactor: None,
            redaction_on: true,
            caps: [CapLimits::default(); 3],
        }
    }
}

impl Settings {
    /// Use `r`, built from `from`, instead of the built-in redactor (a `redaction:` section).
    pub fn set_redactor(&mut self, r: Arc<Redactor>, from: &RedactionSettings) {
        self.configured_redactor = Some(r);
        self.redaction_on = !(from.fields.is_empty() && from.patterns.is_empty());
    }

    /// False when redaction has no rule at all (turned off).
    pub fn redaction_on(&self) -> bool {
        self.redaction_on
    }

    pub fn caps_for(&self, impact: Impact) -> &CapLimits {
        match impact {
            Impact::Minimal => &self.caps[0],
            Impact::Low => &self.caps[1],
            Impact::Medium => &self.caps[2],
        }
    }

    /// The redactor every result and audited argument goes through.
    pub fn redactor(&self) -> &Redactor {
        self.configured_redactor
            .as_deref()
            .unwrap_or(&DEFAULT_REDACTOR)
    }
}
