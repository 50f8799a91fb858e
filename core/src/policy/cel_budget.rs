//! Compile-time bounds on what one CEL condition may cost.
//!
//! CEL has no loops except comprehensions (`all`, `exists`, `exists_one`, `map`, `filter`),
//! so the work of one evaluation is bounded by the expression's size and, per level of
//! comprehension nesting, by the length of the lists it ranges over. Nesting multiplies:
//! four nested `all` over 30-element lists are 810,000 steps for one `validate`. Both are
//! bounded when a condition is compiled, and more tightly for capabilities carried in
//! tokens (anyone holding a trusted issuer key can put any expression there).

use cel::common::ast::{EntryExpr, Expr, IdedExpr};

/// Limits on one CEL condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CelBudget {
    /// Most AST nodes (identifiers, literals, calls, selections, ...).
    pub max_nodes: usize,
    /// Most comprehensions nested inside one another (counting those in a range).
    pub max_nesting: usize,
}

impl CelBudget {
    /// Conditions in policy files and snapshots.
    pub const POLICY: CelBudget = CelBudget {
        max_nodes: 1000,
        max_nesting: 2,
    };
    /// Conditions in a capability carried in a token (`cap`).
    pub const TOKEN: CelBudget = CelBudget {
        max_nodes: 200,
        max_nesting: 1,
    };

    /// Checks `expr`; the error says which bound it exceeds.
    pub fn check(&self, expr: &IdedExpr, source: &str) -> Result<(), String> {
        let mut nodes = 0;
        let nesting = walk(expr, &mut nodes, self.max_nodes);
        if nodes > self.max_nodes {
            return Err(format!(
                "CEL condition `{}` is too large: over {} expression nodes (the limit for {})",
                crate::keys::truncate(source, 80),
                self.max_nodes,
                self.what()
            ));
        }
        if nesting > self.max_nesting {
            return Err(format!(
                "CEL condition `{}` nests {nesting} comprehensions (all/exists/exists_one/map/filter); at most {} allowed for {}",
                crate::keys::truncate(source, 80),
                self.max_nesting,
                self.what()
            ));
        }
        Ok(())
    }

    fn what(&self) -> &'static str {
        if *self == CelBudget::TOKEN {
            "a capability in a token"
        } else {
            "a policy"
        }
    }
}

/// Counts nodes into `nodes` (stopping early past `limit`) and returns the comprehension depth.
fn walk(e: &IdedExpr, nodes: &mut usize, limit: usize) -> usize {
    *nodes += 1;
    if *nodes > limit {
        return 0;
    }
    let mut deepest = 0;
    let mut sub = |x: &IdedExpr, nodes: &mut usize| deepest = deepest.max(walk(x, nodes, limit));
    match &e.expr {
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => {}
        Expr::Call(c) => {
            if let Some(t) = &c.target {
                sub(t, nodes);
            }
            c.args.iter().for_each(|a| sub(a, nodes));
        }
        Expr::Select(s) => sub(&s.operand, nodes),
        Expr::List(l) => l.elements.iter().for_each(|x| sub(x, nodes)),
        Expr::Map(m) => m.entries.iter().for_each(|x| entry(&x.expr, &mut |y| sub(y, nodes))),
        Expr::Struct(s) => s.entries.iter().for_each(|x| entry(&x.expr, &mut |y| sub(y, nodes))),
        Expr::Comprehension(c) => {
            for x in [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                sub(x, nodes);
            }
            return deepest + 1;
        }
    }
    deepest
}

fn entry(e: &EntryExpr, f: &mut dyn FnMut(&IdedExpr)) {
    match e {
        EntryExpr::StructField(s) => f(&s.value),
        EntryExpr::MapEntry(m) => {
            f(&m.key);
            f(&m.value);
        }
    }
}
