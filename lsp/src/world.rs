//! What a request or notification handler works with: the client, the shared
//! `State`, the agent's `Tasks` and the symbol index (`Symbols`). Handlers take
//! a `&World`; below it, tasks and symbols take only the `State` they need, so
//! imports run one way: server → handlers → world → {tasks, symbols,
//! completion} → state.

use std::sync::Arc;

use tower_lsp_server::Client;

use crate::completion::Completions;
use crate::seen_diagnostics::SeenDiagnostics;
use crate::state::{EnvLookup, State};
use crate::symbols::Symbols;
use crate::tasks::Tasks;

#[derive(Clone)]
pub(crate) struct World {
    pub client: Client,
    pub state: Arc<State>,
    pub tasks: Tasks,
    pub symbols: Symbols,
    /// The diagnostics clients sent in code action requests, per version.
    pub diagnostics: SeenDiagnostics,
    /// Inline completions in flight, their cache and provider.
    pub completions: Completions,
}

impl World {
    pub(crate) fn new(client: Client, env: EnvLookup) -> World {
        let symbols = Symbols::default();
        World {
            client,
            state: Arc::new(State::new(env)),
            tasks: Tasks::new(symbols.index.clone()),
            symbols,
            diagnostics: SeenDiagnostics::default(),
            completions: Completions::default(),
        }
    }
}
