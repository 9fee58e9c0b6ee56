//! Optimizer updates on one parameter, exactly as PyTorch's `torch.optim` defines them
//! (SGD with momentum/dampening/Nesterov/weight decay, Adam, AdamW, RMSprop).

use crate::graph::Optimizer;

/// Per-parameter optimizer state: a step count and up to two moment buffers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParamState {
    pub steps: u64,
    /// SGD momentum buffer, Adam's first moment, RMSprop's square average.
    pub buf1: Vec<f32>,
    /// Adam's second moment, RMSprop's momentum buffer.
    pub buf2: Vec<f32>,
}

/// Updates `value` in place from `grad` with learning rate `lr`; returns the squared L2 norm
/// of the applied update (for the update-to-weight ratio statistic).
pub fn update(
    opt: &Optimizer,
    lr: f32,
    value: &mut [f32],
    grad: &[f32],
    state: &mut ParamState,
) -> f64 {
    let n = value.len();
    state.steps += 1;
    let mut update_sq = 0.0f64;
    match *opt {
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
            for i in 0..n {
                let mut g = grad[i] + weight_decay * value[i];
                if momentum != 0.0 {
                    let b = &mut state.buf1[i];
                    *b = if first {
                        g
                    } else {
                        momentum * *b + (1.0 - dampening) * g
                    };
                    g = if nesterov { g + momentum * *b } else { *b };
                }
                let du = lr * g;
                value[i] -= du;
                update_sq += (du as f64) * (du as f64);
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
            let decoupled = matches!(opt, Optimizer::AdamW { .. });
            if state.buf1.is_empty() {
                state.buf1 = vec![0.0; n];
                state.buf2 = vec![0.0; n];
            }
            let t = state.steps as i32;
            let bc1 = 1.0 - (b1 as f64).powi(t);
            let bc2 = 1.0 - (b2 as f64).powi(t);
            let step_size = (lr as f64 / bc1) as f32;
            let bc2_sqrt = bc2.sqrt() as f32;
            for i in 0..n {
                let before = value[i];
                let mut g = grad[i];
                if decoupled {
                    value[i] *= 1.0 - lr * weight_decay;
                } else {
                    g += weight_decay * value[i];
                }
                let m = &mut state.buf1[i];
                *m = b1 * *m + (1.0 - b1) * g;
                let v = &mut state.buf2[i];
                *v = b2 * *v + (1.0 - b2) * g * g;
                let denom = v.sqrt() / bc2_sqrt + eps;
                value[i] -= step_size * *m / denom;
                let du = (value[i] - before) as f64;
                update_sq += du * du;
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
            for i in 0..n {
                let g = grad[i] + weight_decay * value[i];
                let sq = &mut state.buf1[i];
                *sq = alpha * *sq + (1.0 - alpha) * g * g;
                let avg = sq.sqrt() + eps;
                let du = if momentum > 0.0 {
                    let b = &mut state.buf2[i];
                    *b = momentum * *b + g / avg;
                    lr * *b
                } else {
                    lr * g / avg
                };
                value[i] -= du;
                update_sq += (du as f64) * (du as f64);
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
            update(&opt, opt.lr(), &mut p, &g, &mut st);
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
            }),
            &[0.8246490955352783, -1.959352970123291],
        );
    }
}
