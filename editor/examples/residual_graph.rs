//! Writes the synthetic residual MLP the editor's layout tests use, with about N nodes, to
//! FILE: how the README's large-graph figures and screenshots are made.
//!
//! `cargo run --release -p hyphae-editor --example residual_graph -- 500 /tmp/res500.ron`

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (nodes, path) = match args.as_slice() {
        [n, path] => match n.parse::<usize>() {
            Ok(n) if n >= 8 => (n, path),
            _ => usage(),
        },
        _ => usage(),
    };
    let graph = hyphae_editor::model::sample::residual_mlp(nodes, 32);
    if let Err(e) = graph.save(std::path::Path::new(path)) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn usage() -> ! {
    eprintln!("usage: residual_graph NODES(≥ 8) FILE");
    std::process::exit(2);
}
