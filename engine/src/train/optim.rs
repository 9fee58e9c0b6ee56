//! Optimizer updates on one parameter, exactly as PyTorch's `torch.optim` defines them
//! (SGD with momentum/dampening/Nesterov/weight decay, Adam, AdamW, RMSprop).

use rayon::prelude::*;

use crate::graph::Optimizer;
use crate::tensor::PARALLEL_MIN_ELEMS;

/// Per-parameter optimizer state: a step count and up to two moment buffers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParamState {
    pub steps: u64,
    /// SGD momentum buffer, Adam's first moment, RMSprop's square average.
    pub buf1: Vec<f32>,
    /// Adam's second moment, RMSprop's momentum buffer.
    pub buf2: Vec<f32>,
    /// Exponential moving average of the parameter after each step (empty: none kept).
    pub ema: Vec<f32>,
}

/// Elements per work item. Chunks have a fixed size, not one per thread, so the update-norm
/// sum is added in the same order whatever the thread count (bit-identical runs).
const CHUNK: usize = 1 << 14;

/// One step's per-element rule with its scalars worked out once per parameter.
#[derive(Clone, Copy)]
enum Rule {
    Sgd {
        lr: f32,
        weight_decay: f32,
        /// 0 when SGD has no momentum buffer.
        momentum: f32,
        dampening: f32,
        nesterov: bool,
        /// PyTorch starts the momentum buffer at the first gradient, undamped.
        first: bool,
    },
    Adam {
        lr: f32,
        weight_decay: f32,
        decoupled: bool,
        b1: f32,
        b2: f32,
        eps: f32,
        step_size: f32,
        bc2_sqrt: f32,
    },
    RmsProp {
        lr: f32,
        weight_decay: f32,
        alpha: f32,
        eps: f32,
        momentum: f32,
    },
}

/// Updates `value` in place from `grad` with learning rate `lr`. With `measure`, returns
/// the squared L2 norm of the applied update (for the update-to-weight ratio statistic);
/// otherwise 0, and the update runs without that extra f64 reduction.
pub fn update(
    opt: &Optimizer,
    lr: f32,
    value: &mut [f32],
    grad: &[f32],
    state: &mut ParamState,
    measure: bool,
) -> f64 {
    let n = value.len();
    state.steps += 1;
    let rule = match *opt {
        Optimizer::Sgd {
            momentum,
            dampening,
            nesterov,
            weight_decay,
            ..
        } => {
            let first = state.buf1.is_empty();
            if momentum != 0.0 && first {
                state.buf1 = vec![0.0; n];
            }
            Rule::Sgd {
                lr,
                weight_decay,
                momentum,
                dampening,
                nesterov,
                first,
            }
        }
        Optimizer::Adam {
            betas: (b1, b2),
            eps,
            weight_decay,
            ..
        }
        | Optimizer::AdamW {
            betas: (b1, b2),
            eps,
            weight_decay,
            ..
        } => {
            if state.buf1.is_empty() {
                state.buf1 = vec![0.0; n];
                state.buf2 = vec![0.0; n];
            }
            let t = state.steps as i32;
            let bc1 = 1.0 - (b1 as f64).powi(t);
            let bc2 = 1.0 - (b2 as f64).powi(t);
            Rule::Adam {
                lr,
                weight_decay,
                decoupled: matches!(opt, Optimizer::AdamW { .. }),
                b1,
                b2,
                eps,
                step_size: (lr as f64 / bc1) as f32,
                bc2_sqrt: bc2.sqrt() as f32,
            }
        }
        Optimizer::RmsProp {
            alpha,
            eps,
            momentum,
            weight_decay,
            ..
        } => {
            if state.buf1.is_empty() {
                state.buf1 = vec![0.0; n];
                if momentum > 0.0 {
                    state.buf2 = vec![0.0; n];
                }
            }
            Rule::RmsProp {
                lr,
                weight_decay,
                alpha,
                eps,
                momentum,
            }
        }
    };
    // Buffers a rule does not use are empty: their chunks are empty slices.
    let mut buf1 = state.buf1.chunks_mut(CHUNK);
    let mut buf2 = state.buf2.chunks_mut(CHUNK);
    let jobs: Vec<_> = value
        .chunks_mut(CHUNK)
        .zip(grad.chunks(CHUNK))
        .map(|(v, g)| {
            (
                v,
                g,
                buf1.next().unwrap_or_default(),
                buf2.next().unwrap_or_default(),
            )
        })
        .collect();
    let run = |(v, g, b1, b2): (&mut [f32], &[f32], &mut [f32], &mut [f32])| {
        if measure {
            apply::<true>(rule, v, g, b1, b2)
        } else {
            apply::<false>(rule, v, g, b1, b2)
        }
    };
    let sums: Vec<f64> = if n >= PARALLEL_MIN_ELEMS {
        jobs.into_par_iter().map(run).collect()
    } else {
        jobs.into_iter().map(run).collect()
    };
    if let Some(m) = opt.ema_momentum() {
        average(m, &mut state.ema, value);
    }
    sums.iter().sum()
}

/// `ema = m·ema + (1 − m)·value`, the average starting at the value after the first step
/// (as Keras's `use_ema` and PyTorch's `AveragedModel` do).
fn average(m: f32, ema: &mut Vec<f32>, value: &[f32]) {
    if ema.len() != value.len() {
        *ema = value.to_vec();
        return;
    }
    for (e, &v) in ema.iter_mut().zip(value) {
        *e = m * *e + (1.0 - m) * v;
    }
}

/// Applies `rule` to one chunk; `b1`/`b2` are the chunk's moment buffers (empty when the rule
/// has none). Loop-invariant branches only, so the compiler can vectorise each variant.
fn apply<const MEASURE: bool>(
    rule: Rule,
    value: &mut [f32],
    grad: &[f32],
    b1: &mut [f32],
    b2: &mut [f32],
) -> f64 {
    let mut update_sq = 0.0f64;
    let mut record = |du: f32| {
        if MEASURE {
            update_sq += du as f64 * du as f64;
        }
    };
    match rule {
        Rule::Sgd {
            lr,
            weight_decay,
            momentum,
            dampening,
            nesterov,
            first,
        } => {
            if momentum == 0.0 {
                for (v, &g) in value.iter_mut().zip(grad) {
                    let du = lr * (g + weight_decay * *v);
                    *v -= du;
                    record(du);
                }
            } else {
                for ((v, &g), b) in value.iter_mut().zip(grad).zip(b1.iter_mut()) {
                    let g = g + weight_decay * *v;
                    *b = if first {
                        g
                    } else {
                        momentum * *b + (1.0 - dampening) * g
                    };
                    let du = lr * if nesterov { g + momentum * *b } else { *b };
                    *v -= du;
                    record(du);
                }
            }
        }
        Rule::Adam {
            lr,
            weight_decay,
            decoupled,
            b1: beta1,
            b2: beta2,
            eps,
            step_size,
            bc2_sqrt,
        } => {
            let elems = value
                .iter_mut()
                .zip(grad)
                .zip(b1.iter_mut().zip(b2.iter_mut()));
            for ((v, &g), (m, s)) in elems {
                let before = *v;
                let mut g = g;
                if decoupled {
                    *v *= 1.0 - lr * weight_decay;
                } else {
                    g += weight_decay * *v;
                }
                *m = beta1 * *m + (1.0 - beta1) * g;
                *s = beta2 * *s + (1.0 - beta2) * g * g;
                let denom = s.sqrt() / bc2_sqrt + eps;
                *v -= step_size * *m / denom;
                record(*v - before);
            }
        }
        Rule::RmsProp {
            lr,
            weight_decay,
            alpha,
            eps,
            momentum,
        } => {
            if momentum > 0.0 {
                let elems = value
                    .iter_mut()
                    .zip(grad)
                    .zip(b1.iter_mut().zip(b2.iter_mut()));
                for ((v, &g), (sq, b)) in elems {
                    let g = g + weight_decay * *v;
                    *sq = alpha * *sq + (1.0 - alpha) * g * g;
                    *b = momentum * *b + g / (sq.sqrt() + eps);
                    let du = lr * *b;
                    *v -= du;
                    record(du);
                }
            } else {
                for ((v, &g), sq) in value.iter_mut().zip(grad).zip(b1.iter_mut()) {
                    let g = g + weight_decay * *v;
                    *sq = alpha * *sq + (1.0 - alpha) * g * g;
                    let du = lr * g / (sq.sqrt() + eps);
                    *v -= du;
                    record(du);
                }
            }
        }
    }
    update_sq
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs 3 steps on p = [1, -2] with fixed gradients and compares with PyTorch.
    fn run(opt: Optimizer) -> Vec<f32> {
        let mut p = vec![1.0f32, -2.0];
        let grads = [[0.5f32, -1.0], [0.25, 0.5], [-0.5, 1.0]];
        let mut st = ParamState::default();
        for g in grads {
            update(&opt, opt.lr(), &mut p, &g, &mut st, true);
        }
        p
    }

    fn close(a: &[f32], b: &[f32]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }

    // Reference values from PyTorch 2.15:
    //   p = torch.tensor([1., -2.], requires_grad=True); opt = torch.optim.X([p], ...)
    //   for g in ([.5, -1.], [.25, .5], [-.5, 1.]):
    //       opt.zero_grad(); p.grad = torch.tensor(g); opt.step()
    //   print(p.tolist())
    #[test]
    fn sgd_matches_pytorch() {
        // SGD(lr=0.1)
        close(
            &run(Optimizer::Sgd {
                lr: 0.1,
                momentum: 0.0,
                dampening: 0.0,
                nesterov: false,
                weight_decay: 0.0,
                ema_momentum: None,
            }),
            &[0.9750000238418579, -2.049999952316284],
        );
        // SGD(lr=0.1, momentum=0.9, weight_decay=0.01)
        close(
            &run(Optimizer::Sgd {
                lr: 0.1,
                momentum: 0.9,
                dampening: 0.0,
                nesterov: false,
                weight_decay: 0.01,
                ema_momentum: None,
            }),
            &[0.8616097569465637, -1.9131195545196533],
        );
        // SGD(lr=0.1, momentum=0.9, nesterov=True)
        close(
            &run(Optimizer::Sgd {
                lr: 0.1,
                momentum: 0.9,
                dampening: 0.0,
                nesterov: true,
                weight_decay: 0.0,
                ema_momentum: None,
            }),
            &[0.8552999496459961, -1.981600046157837],
        );
    }

    #[test]
    fn adam_family_matches_pytorch() {
        // Adam(lr=0.1)
        close(
            &run(Optimizer::Adam {
                lr: 0.1,
                betas: (0.9, 0.999),
                eps: 1e-8,
                weight_decay: 0.0,
                ema_momentum: None,
            }),
            &[0.7957037687301636, -1.9006359577178955],
        );
        // AdamW(lr=0.1, weight_decay=0.1)
        close(
            &run(Optimizer::AdamW {
                lr: 0.1,
                betas: (0.9, 0.999),
                eps: 1e-8,
                weight_decay: 0.1,
                ema_momentum: None,
            }),
            &[0.7689249515533447, -1.8434903621673584],
        );
        // RMSprop(lr=0.01, momentum=0.5)
        close(
            &run(Optimizer::RmsProp {
                lr: 0.01,
                alpha: 0.99,
                eps: 1e-8,
                momentum: 0.5,
                weight_decay: 0.0,
                ema_momentum: None,
            }),
            &[0.8246490955352783, -1.959352970123291],
        );
    }

    /// The moving average by hand: SGD(lr 0.1) moves p to p1 = [0.95, -1.9], p2 = [0.925,
    /// -1.95], p3 = [0.975, -2.05]; with momentum 0.5 the average starts at p1, then
    /// 0.5·ema + 0.5·p: [0.9375, -1.925], then [0.95625, -1.9875].
    #[test]
    fn ema_averages_the_parameter_after_each_step() {
        let opt = Optimizer::Sgd {
            lr: 0.1,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            ema_momentum: Some(0.5),
        };
        let mut p = vec![1.0f32, -2.0];
        let mut st = ParamState::default();
        let want = [[0.95f32, -1.9], [0.9375, -1.925], [0.95625, -1.9875]];
        for (g, w) in [[0.5f32, -1.0], [0.25, 0.5], [-0.5, 1.0]].iter().zip(want) {
            update(&opt, opt.lr(), &mut p, g, &mut st, false);
            close(&st.ema, &w);
        }
        close(&p, &[0.975, -2.05]);
        // without ema_momentum no average is kept
        let mut st = ParamState::default();
        let mut plain = opt.clone();
        plain.set_ema_momentum(None);
        update(&plain, 0.1, &mut p, &[1.0, 1.0], &mut st, false);
        assert!(st.ema.is_empty());
    }
}
