//! Kernel throughput on 2 rayon threads: the raw `gemm` crate vs `Tensor::matmul`, and
//! Conv2d forward + backward through the `Layer` trait for the reference CNN's layers.
//!
//! Run: `cargo bench -p hyphae --bench kernels` (optionally followed by `-- matmul` or
//! `-- conv` to run one section). Figures are GFLOP/s (a multiply-add is 2 FLOPs): the
//! median of several timed repetitions after a warm-up. In parentheses, the same work per
//! CPU-second of this process × the thread count: what the wall figure would be with the
//! cores to ourselves, for shared machines. The two ratios the targets refer to are
//! measured interleaved (A, B, A, B, ...) and reported as the median of per-round ratios,
//! so load from other processes affects both sides alike.

use gemm::Parallelism;
use hyphae::Tensor;
use hyphae::ops::conv::Conv2d;
use hyphae::ops::testing::{default_params, randn};
use hyphae::ops::{Ctx, Layer, Size2};
use hyphae::tensor::{Layout, matmul_into, matmul_with};
use std::hint::black_box;
use std::time::Instant;

/// Rayon threads: 2, or `HYPHAE_BENCH_THREADS` for experiments.
fn threads() -> usize {
    std::env::var("HYPHAE_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

/// Timed repetitions per figure (the median is reported).
const REPS: usize = 9;
/// Each repetition runs the kernel for at least this long.
const REP_SECONDS: f64 = 0.1;

/// CPU time used so far by all threads of this process, in seconds (Linux; 0 elsewhere).
fn process_cpu() -> f64 {
    let mut ns = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for t in tasks.flatten() {
            let stat = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
            ns += stat
                .split_whitespace()
                .next()
                .and_then(|x| x.parse().ok())
                .unwrap_or(0);
        }
    }
    ns as f64 / 1e9
}

/// A throughput figure: wall-clock GFLOP/s and its CPU-time-normalised counterpart.
#[derive(Clone, Copy)]
struct Rate {
    wall: f64,
    cpu: f64,
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1} ({:.1})", self.wall, self.cpu)
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// A kernel under test: FLOPs per call, and iterations per repetition once calibrated.
struct Kernel<'a> {
    flops: f64,
    iters: usize,
    run: Box<dyn FnMut() + 'a>,
}

impl<'a> Kernel<'a> {
    /// Warms `run` up (pool threads, caches, allocator) and calibrates its repetitions.
    fn new(flops: f64, mut run: impl FnMut() + 'a) -> Self {
        let t = Instant::now();
        run();
        run();
        let once = (t.elapsed().as_secs_f64() / 2.0).max(1e-7);
        let iters = ((REP_SECONDS / once).ceil() as usize).clamp(1, 100_000);
        Kernel {
            flops,
            iters,
            run: Box::new(run),
        }
    }

    /// One timed repetition: (wall GFLOP/s, CPU-normalised GFLOP/s).
    fn rep(&mut self) -> (f64, f64) {
        let (t, c) = (Instant::now(), process_cpu());
        for _ in 0..self.iters {
            (self.run)();
        }
        let total = self.flops * self.iters as f64 / 1e9;
        let cpu = (process_cpu() - c).max(1e-9);
        let wall = total / t.elapsed().as_secs_f64();
        (wall, total / cpu * threads() as f64)
    }

    fn rate(&mut self) -> Rate {
        let (walls, cpus) = (0..REPS).map(|_| self.rep()).unzip();
        Rate {
            wall: median(walls),
            cpu: median(cpus),
        }
    }
}

/// Median GFLOP/s of `run`, which does `flops` floating-point operations per call.
fn gflops(flops: f64, run: impl FnMut()) -> Rate {
    Kernel::new(flops, run).rate()
}

/// One round of [`interleaved`]: (wall, CPU-normalised) of `a`, then of `b`.
type Round = ((f64, f64), (f64, f64));

/// `a` and `b` measured in alternation: their rates and the median per-round ratio a/b
/// (wall, CPU-normalised).
fn interleaved(a: &mut Kernel, b: &mut Kernel) -> (Rate, Rate, f64, f64) {
    let rounds: Vec<Round> = (0..REPS).map(|_| (a.rep(), b.rep())).collect();
    let pick = |f: fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    (
        Rate {
            wall: pick(|r| r.0.0),
            cpu: pick(|r| r.0.1),
        },
        Rate {
            wall: pick(|r| r.1.0),
            cpu: pick(|r| r.1.1),
        },
        pick(|r| r.0.0 / r.1.0),
        pick(|r| r.0.1 / r.1.1),
    )
}

/// `dst = op(A)·op(B)` on raw row-major buffers through the gemm crate, no engine code
/// involved; a transposed operand is read through swapped strides, as `matmul_t` does.
fn raw_gemm(dst: &mut [f32], a: &[f32], b: &[f32], n: usize, trans_a: bool, trans_b: bool) {
    let (a_cs, a_rs) = if trans_a {
        (n as isize, 1)
    } else {
        (1, n as isize)
    };
    let (b_cs, b_rs) = if trans_b {
        (n as isize, 1)
    } else {
        (1, n as isize)
    };
    assert!(dst.len() >= n * n && a.len() >= n * n && b.len() >= n * n);
    // SAFETY: all three buffers are n×n row-major, as the strides below describe.
    unsafe {
        gemm::gemm(
            n,
            n,
            n,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            0.0,
            1.0,
            false,
            false,
            false,
            Parallelism::Rayon(threads()),
        );
    }
}

/// Square operands for the matmul figures.
struct Square {
    n: usize,
    a: Tensor,
    b: Tensor,
}

impl Square {
    fn new(n: usize) -> Self {
        Square {
            n,
            a: randn(&[n, n], 1),
            b: randn(&[n, n], 2),
        }
    }

    fn flops(&self) -> f64 {
        2.0 * (self.n * self.n * self.n) as f64
    }

    fn raw(&self, trans_a: bool, trans_b: bool) -> Kernel<'_> {
        let (a, b) = (self.a.data().to_vec(), self.b.data().to_vec());
        let mut dst = vec![0.0f32; self.n * self.n];
        let n = self.n;
        Kernel::new(self.flops(), move || {
            raw_gemm(&mut dst, &a, &b, n, trans_a, trans_b);
            black_box(&dst);
        })
    }

    fn tensor(&self, trans_a: bool, trans_b: bool) -> Kernel<'_> {
        Kernel::new(self.flops(), move || {
            black_box(self.a.matmul_t(trans_a, &self.b, trans_b).unwrap());
        })
    }
}

fn matmul_section() {
    println!("matmul, square n×n·n×n: GFLOP/s wall (CPU-normalised)");
    println!(
        "{:>6} {:>15} {:>15} {:>15} {:>15}",
        "n", "raw gemm", "Tensor::matmul", "matmul_t(T,N)", "matmul_t(N,T)"
    );
    for n in [128, 512, 1024] {
        let s = Square::new(n);
        let raw = s.raw(false, false).rate();
        let mm = s.tensor(false, false).rate();
        let ta = s.tensor(true, false).rate();
        let tb = s.tensor(false, true).rate();
        println!(
            "{n:>6} {:>15} {:>15} {:>15} {:>15}",
            raw.to_string(),
            mm.to_string(),
            ta.to_string(),
            tb.to_string()
        );
    }
    // Each layout backward uses against raw gemm reading the same layout.
    let s = Square::new(512);
    for (ta, tb, label) in [
        (false, false, "N,N"),
        (true, false, "T,N"),
        (false, true, "N,T"),
    ] {
        let (mm, raw, wall, cpu) = interleaved(&mut s.tensor(ta, tb), &mut s.raw(ta, tb));
        println!(
            "ratio Tensor::matmul_t({label}) / raw gemm ({label}) at 512 (interleaved; {mm} vs {raw}): \
             {wall:.3} wall ({cpu:.3} CPU-normalised); target ≥ 0.9"
        );
    }
}

/// A Conv2d layer with its input, parameters and output gradient.
struct ConvCase {
    name: &'static str,
    conv: Conv2d,
    shape: Vec<usize>,
    x: Tensor,
    params: Vec<Tensor>,
    dy: Tensor,
    fwd_flops: f64,
}

impl ConvCase {
    fn new(name: &'static str, in_c: usize, out_c: usize, shape: &[usize]) -> Self {
        let conv = Conv2d {
            in_channels: Some(in_c),
            out_channels: out_c,
            kernel_size: Size2::Square(3),
            ..Conv2d::default()
        };
        let out = conv.output_shape(&[shape]).unwrap();
        ConvCase {
            name,
            fwd_flops: conv.flops(&[shape], &out) as f64,
            x: randn(shape, 3),
            params: default_params(&conv, &[shape], 4),
            dy: randn(&out, 5),
            shape: shape.to_vec(),
            conv,
        }
    }

    /// Forward + backward (input, weight and bias gradients): 3 × the forward FLOPs.
    fn step(&self) -> Kernel<'_> {
        let p: Vec<&Tensor> = self.params.iter().collect();
        let ctx = Ctx::train(0);
        Kernel::new(3.0 * self.fwd_flops, move || {
            let f = self.conv.forward(&ctx, &[&self.x], &p).unwrap();
            let b = self
                .conv
                .backward(&ctx, &[&self.x], &p, &f, &self.dy)
                .unwrap();
            assert!(b.inputs[0].is_some() && b.params.iter().all(Option::is_some));
            black_box((f, b));
        })
    }

    fn report(&self) {
        let p: Vec<&Tensor> = self.params.iter().collect();
        let ctx = Ctx::train(0);
        let fwd = self.conv.forward(&ctx, &[&self.x], &p).unwrap();
        let f_only = gflops(self.fwd_flops, || {
            black_box(self.conv.forward(&ctx, &[&self.x], &p).unwrap());
        });
        let b_only = gflops(2.0 * self.fwd_flops, || {
            black_box(
                self.conv
                    .backward(&ctx, &[&self.x], &p, &fwd, &self.dy)
                    .unwrap(),
            );
        });
        let both = self.step().rate();
        println!("{} {:?} -> {:?}", self.name, self.shape, fwd.output.shape());
        println!(
            "    fwd {f_only}, bwd {b_only}, fwd+bwd {both} GFLOP/s; {:.2} ms per step (wall)",
            3.0 * self.fwd_flops / both.wall / 1e6
        );
    }
}

fn conv_section() {
    println!("Conv2d 3×3 forward + backward (dX, dW, db) through the Layer trait");
    println!("GFLOP/s wall (CPU-normalised), FLOPs = 3 × forward");
    let first = ConvCase::new("Conv2d 1→32", 1, 32, &[64, 1, 28, 28]);
    first.report();
    let second = ConvCase::new("Conv2d 32→64", 32, 64, &[64, 32, 26, 26]);
    second.report();
    let s = Square::new(512);
    let (conv, mm, wall, cpu) = interleaved(&mut second.step(), &mut s.tensor(false, false));
    println!(
        "ratio Conv2d 32→64 fwd+bwd / Tensor::matmul 512 (interleaved; {conv} vs {mm}): \
         {wall:.3} wall ({cpu:.3} CPU-normalised); target ≥ 0.6"
    );
}

/// The matmuls of one training step of the `mlp` reference workload (784-512-256-10,
/// batch 128): forward x·Wᵀ, dW = dYᵀ·X, dX = dY·W (none for the data input).
const MLP_MATMULS: [(&str, usize, usize, usize, Layout, Layout); 8] = [
    ("fc1 fwd", 128, 784, 512, Layout::Normal, Layout::Transposed),
    ("fc2 fwd", 128, 512, 256, Layout::Normal, Layout::Transposed),
    ("fc3 fwd", 128, 256, 10, Layout::Normal, Layout::Transposed),
    ("fc1 dW", 512, 128, 784, Layout::Transposed, Layout::Normal),
    ("fc2 dW", 256, 128, 512, Layout::Transposed, Layout::Normal),
    ("fc3 dW", 10, 128, 256, Layout::Transposed, Layout::Normal),
    ("fc2 dX", 128, 256, 512, Layout::Normal, Layout::Normal),
    ("fc3 dX", 128, 10, 256, Layout::Normal, Layout::Normal),
];

fn mlp_section() {
    println!("mlp workload matmuls (batch 128): GFLOP/s wall (CPU-normalised), µs per call");
    println!(
        "{:>8} {:>14} {:>22} {:>22}",
        "matmul", "m×k×n", "auto parallelism", "one thread"
    );
    let (mut auto_us, mut one_us) = (0.0, 0.0);
    for (name, m, k, n, la, lb) in MLP_MATMULS {
        let a = randn(&[m * k], 1).data().to_vec();
        let b = randn(&[k * n], 2).data().to_vec();
        let flops = 2.0 * (m * k * n) as f64;
        let mut dst = vec![0.0f32; m * n];
        let auto = gflops(flops, || {
            matmul_into(&mut dst, &a, la, &b, lb, m, k, n, false);
            black_box(&dst);
        });
        let one = gflops(flops, || {
            matmul_with(Parallelism::None, &mut dst, &a, la, &b, lb, m, k, n, false);
            black_box(&dst);
        });
        let us = |r: Rate| flops / r.wall / 1e3;
        auto_us += us(auto);
        one_us += us(one);
        println!(
            "{name:>8} {:>14} {:>14} {:>6.0} µs {:>14} {:>6.0} µs",
            format!("{m}×{k}×{n}"),
            auto.to_string(),
            us(auto),
            one.to_string(),
            us(one)
        );
    }
    println!("total: {auto_us:.0} µs (auto), {one_us:.0} µs (one thread)");
}

fn main() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads())
        .build_global()
        .expect("rayon pool");
    // `cargo bench` passes `--bench`; any other argument selects sections by name.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let run = |section: &str| filters.is_empty() || filters.iter().any(|f| section.contains(f));
    println!("hyphae kernels, {} rayon threads\n", threads());
    if run("matmul") {
        matmul_section();
        println!();
    }
    if run("conv") {
        conv_section();
        println!();
    }
    if run("mlp") {
        mlp_section();
    }
}
