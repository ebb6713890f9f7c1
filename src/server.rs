#![forbid(unsafe_code)]
//! The shared server state: configuration, the compiled tool table, the worker pool and the
//! deadline timer. Transports create one `Session` per connection on top of it.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use serde_json::{Map, Value};

use crate::auth::Caller;
use crate::config::{self, Config};
use crate::error::{Error, ToolError};
use crate::tools::{Cancel, Ctx, ProgressFn, Registry, Tool};
use crate::transport::pool::{Pool, Timer};

/// Everything a connection needs, shared across connections.
#[derive(Debug)]
pub struct Server {
    config: RwLock<Arc<Config>>,
    /// What `--config` named (None: the default path or built-in defaults), for reloads.
    config_arg: Option<PathBuf>,
    pub registry: Registry,
    pub pool: Pool,
    pub timer: Arc<Timer>,
}

impl Server {
    pub fn new(config: Config, config_arg: Option<PathBuf>) -> Result<Arc<Server>, Error> {
        let registry = Registry::new().map_err(Error::Config)?;
        let workers = config.resources.max_concurrent_queries;
        // Queue room for every connection's in-flight budget would be unbounded across
        // connections; a fixed multiple of the workers keeps memory flat and answers "busy".
        let pool = Pool::new(workers, workers * 32);
        Ok(Arc::new(Server {
            config: RwLock::new(Arc::new(config)),
            config_arg,
            registry,
            pool,
            timer: Timer::start(),
        }))
    }

    /// The configuration in force now. A call keeps the `Arc` it started with, so a reload never
    /// changes the rules under a running call.
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Re-read and validate the config file, then swap it in atomically. Calls in flight keep
    /// the config they started with. On any problem the running config stays and the problems
    /// are returned. On success returns notes (settings that need a restart, warnings).
    pub fn reload(&self) -> Result<Vec<String>, Vec<String>> {
        let mut new = config::load(self.config_arg.as_deref())?;
        let old = self.config();
        let mut notes: Vec<String> = config::restart_only_changes(&old, &new)
            .into_iter()
            .map(|k| format!("{k} changed; ignored until restart"))
            .collect();
        config::carry_restart_only(&old, &mut new);
        notes.extend(new.warnings.iter().cloned());
        crate::log::set_level(new.log_level);
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(new);
        Ok(notes)
    }

    /// Run a tool's handler and check its result against the output schema. The gate has
    /// already passed. Returns `structuredContent`.
    #[allow(clippy::too_many_arguments)]
    pub fn execute(
        &self,
        config: &Config,
        caller: &Caller,
        tool: &Tool,
        args: &Map<String, Value>,
        cancel: &Cancel,
        deadline: Instant,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<Value, ToolError> {
        let ctx = Ctx {
            caller,
            config,
            registry: &self.registry,
            cancel,
            deadline,
            progress,
        };
        let value = (tool.def.handler)(&ctx, args)?;
        // Never hand a client data that breaks the contract we advertised.
        tool.output.validate(&value).map_err(|v| {
            ToolError::Failed(format!(
                "internal error: {} produced output that does not match its schema at `{}` ({})",
                tool.def.name, v.path, v.rule
            ))
        })?;
        Ok(value)
    }
}
