//! hyphae-editor: the desktop node-graph editor. The window arrives with the editor issues;
//! until then this binary only reports which engine it links.

fn main() {
    println!(
        "hyphae-editor {} (engine {}): the graphical editor is not built yet",
        env!("CARGO_PKG_VERSION"),
        hyphae::VERSION
    );
}
