#![forbid(unsafe_code)]
//! What the tool handlers take from the config (aggregated there as `Config::tools`): today the
//! application log globs. Handlers see it through `Ctx::settings`, never the whole config.

use super::glob::Glob;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub app_logs: AppLogs,
}

/// `scopes.logs_app.allowed_paths` and `denied_paths`, parsed. A file is readable by
/// `get_app_logs` when it matches an allowed glob and no denied one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppLogs {
    pub allowed: Vec<Glob>,
    pub denied: Vec<Glob>,
}

/// Most globs in each list.
pub const MAX_GLOBS: usize = 64;

impl AppLogs {
    /// Parse both lists, naming every bad entry by its config key and index.
    pub fn parse(allowed: &[String], denied: &[String]) -> Result<AppLogs, Vec<String>> {
        let mut problems = Vec::new();
        let mut list = |key: &str, items: &[String]| -> Vec<Glob> {
            if items.len() > MAX_GLOBS {
                problems.push(format!(
                    "scopes.logs_app.{key}: at most {MAX_GLOBS} patterns (found {})",
                    items.len()
                ));
            }
            items
                .iter()
                .enumerate()
                .filter_map(|(i, t)| match Glob::parse(t) {
                    Ok(g) => Some(g),
                    Err(e) => {
                        problems.push(format!(
                            "scopes.logs_app.{key}[{i}]: `{}` {e}",
                            crate::error::echo(t, 200)
                        ));
                        None
                    }
                })
                .collect()
        };
        let allowed = list("allowed_paths", allowed);
        let denied = list("denied_paths", denied);
        if problems.is_empty() {
            Ok(AppLogs { allowed, denied })
        } else {
            Err(problems)
        }
    }

    /// Whether `path` may be read: matches an allowed glob and no denied one.
    pub fn permits(&self, path: &str) -> Result<&Glob, &'static str> {
        let Some(g) = self.allowed.iter().find(|g| g.matches(path)) else {
            return Err("matches none of scopes.logs_app.allowed_paths");
        };
        if self.denied.iter().any(|d| d.matches(path)) {
            return Err("is excluded by scopes.logs_app.denied_paths");
        }
        Ok(g)
    }
}
