#![forbid(unsafe_code)]
//! The audit log's settings as the operator wrote them (validated by `config`; the secrets are
//! loaded only when the log is opened, and by `check-config`).

use std::path::PathBuf;

use super::{AuditError, AuditKey, AuditSettings, IdentityHasher, SecretSource, SyslogSettings};

/// The audit log as configured (validated; keys are loaded when the log is opened, and by
/// `check-config`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub path: PathBuf,
    pub key: SecretSource,
    pub fsync: bool,
    pub max_size_bytes: u64,
    pub max_files: u32,
    /// Write the (redacted) call arguments into `query` records.
    pub log_params: bool,
    /// Salt for hashing caller identities (`anonymize_identity: true`).
    pub anonymize_salt: Option<SecretSource>,
    pub syslog: Option<SyslogSettings>,
}

impl PartialEq for Settings {
    fn eq(&self, o: &Self) -> bool {
        self.path == o.path
            && self.key == o.key
            && self.fsync == o.fsync
            && self.max_size_bytes == o.max_size_bytes
            && self.max_files == o.max_files
            && self.log_params == o.log_params
            && self.anonymize_salt == o.anonymize_salt
            && format!("{:?}", self.syslog) == format!("{:?}", o.syslog)
    }
}

impl Settings {
    /// Load the secrets and build the writer's settings.
    pub fn settings(&self) -> Result<AuditSettings, AuditError> {
        let mut s = AuditSettings::new(&self.path, AuditKey::load_for(&self.key, &self.path)?);
        s.fsync = self.fsync;
        s.max_size_bytes = self.max_size_bytes;
        s.max_files = self.max_files;
        s.anonymize = self
            .anonymize_salt
            .as_ref()
            .map(IdentityHasher::load)
            .transpose()?;
        s.syslog = self.syslog.clone();
        Ok(s)
    }

    /// Environment variables this config names as secret sources (not overrides).
    pub fn secret_env_names(&self) -> impl Iterator<Item = &str> {
        [Some(&self.key), self.anonymize_salt.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|s| match s {
                SecretSource::Env(n) => Some(n.as_str()),
                SecretSource::File(_) => None,
            })
    }
}
