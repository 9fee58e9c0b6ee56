//! The parameters' moving averages (an optimizer's `ema_momentum`): kept beside the
//! optimizer state of each parameter, saved in checkpoints so that a resumed run averages
//! exactly as the uninterrupted one, and written in place of the raw values into the
//! weights files a run leaves for use (as Keras swaps them in at the end of `fit`).

use super::Runtime;
use crate::ecs::components::{OptState, Param, Topology, Value};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

impl Runtime {
    /// [`Runtime::state_dict`] with each averaged parameter's moving average in place of
    /// its value, and the names of the parameters replaced.
    pub fn averaged_state_dict(&mut self) -> (Vec<(String, Tensor)>, Vec<String>) {
        let averages = self.ema_state();
        let mut replaced = Vec::new();
        let tensors = self
            .state_dict()
            .into_iter()
            .map(|(name, value)| {
                match averages
                    .iter()
                    .find(|(n, t)| *n == name && t.numel() == value.numel())
                {
                    Some((_, avg)) => {
                        replaced.push(name.clone());
                        let avg = avg.reshape(value.shape()).unwrap_or(value);
                        (name, avg)
                    }
                    None => (name, value),
                }
            })
            .collect();
        (tensors, replaced)
    }

    /// Each parameter's moving average (flat), for those that keep one.
    pub fn ema_state(&mut self) -> Vec<(String, Tensor)> {
        self.read_params(|e| {
            let s = &e.get::<OptState>()?.0;
            if s.ema.is_empty() {
                return None;
            }
            Tensor::new(&[s.ema.len()], s.ema.clone()).ok()
        })
    }

    /// Restores moving averages saved by [`Runtime::ema_state`]; parameters not listed
    /// keep theirs (a fresh runtime: none, started again at the next step).
    pub fn load_ema_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let order = self.world.resource::<Topology>().params.clone();
        for &e in &order {
            let Some(name) = self.world.get::<Param>(e).map(|p| p.name.clone()) else {
                continue;
            };
            let Some((_, avg)) = state.iter().find(|(n, _)| *n == name) else {
                continue;
            };
            let numel = self.world.get::<Value>(e).map_or(0, |v| v.0.numel());
            if avg.numel() != numel {
                return Err(Error::Other(format!(
                    "moving average for `{name}` does not match the parameter's size {numel}"
                )));
            }
            if let Some(mut s) = self.world.get_mut::<OptState>(e) {
                s.0.ema = avg.data().to_vec();
            }
        }
        Ok(())
    }
}
