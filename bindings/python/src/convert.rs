//! Python values to JSON and back.
//!
//! Context, user context and inline policies are JSON in the core. Python
//! `dict`/`list`/`tuple`/`str`/`int`/`float`/`bool`/`None` (and their
//! subclasses, such as `str` enums) convert; anything else is a `TypeError`
//! naming where it sits (`context['when']`), and a value JSON cannot hold
//! (NaN, an integer over 64 bits, nesting deeper than 64) is a `ConfigError`.

use crate::errors;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// The core's limit, the same in every language.
const MAX_DEPTH: usize = act_core::client::MAX_CONTEXT_DEPTH;

enum Problem {
    Type(String),
    Value(String),
    Py(PyErr),
}

/// Where a bad value sits, built only on the error path.
struct Fail {
    path: Vec<String>,
    problem: Problem,
}

impl Fail {
    fn at(mut self, segment: String) -> Self {
        self.path.push(segment);
        self
    }
    fn into_py(self, py: Python<'_>, root: &str) -> PyErr {
        let mut path = root.to_string();
        for seg in self.path.iter().rev() {
            path.push_str(seg);
        }
        match self.problem {
            Problem::Type(t) => PyTypeError::new_err(format!(
                "{path} is {t}; ACT takes JSON values: dict with str keys, list, tuple, str, int, float, bool or None"
            )),
            Problem::Value(m) => errors::config(py, format!("{path} {m}")),
            Problem::Py(e) => e,
        }
    }
}

fn fail(problem: Problem) -> Fail {
    Fail {
        path: Vec::new(),
        problem,
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| format!("a `{n}`"))
        .unwrap_or_else(|_| "an object".into())
}

fn key_text(key: &Bound<'_, PyAny>) -> Result<String, Fail> {
    match key.cast::<PyString>() {
        Ok(s) => s.to_cow().map(|c| c.into_owned()).map_err(|e| fail(Problem::Py(e))),
        Err(_) => Err(fail(Problem::Type(format!("a key of type {}", type_name(key))))),
    }
}

fn number_from_int(obj: &Bound<'_, PyAny>) -> Result<Value, Fail> {
    if let Ok(i) = obj.extract::<i64>() {
        return Ok(Value::Number(i.into()));
    }
    if let Ok(u) = obj.extract::<u64>() {
        return Ok(Value::Number(u.into()));
    }
    Err(fail(Problem::Value(
        "is an integer outside the 64-bit range JSON numbers keep exactly".into(),
    )))
}

fn number_from_float(f: f64) -> Result<Value, Fail> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| fail(Problem::Value(format!("is {f}, which is not a JSON number"))))
}

fn map_to_json(dict: &Bound<'_, PyDict>, depth: usize) -> Result<Map<String, Value>, Fail> {
    let mut map = Map::with_capacity(dict.len());
    for (k, v) in dict.iter() {
        let key = key_text(&k)?;
        let value = value_to_json(&v, depth + 1).map_err(|f| f.at(format!("[{key:?}]")))?;
        map.insert(key, value);
    }
    Ok(map)
}

fn value_to_json(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, Fail> {
    if depth > MAX_DEPTH {
        return Err(fail(Problem::Value(format!(
            "nests deeper than {MAX_DEPTH} levels (or contains itself)"
        ))));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_cow()
            .map(|s| Value::String(s.into_owned()))
            .map_err(|e| fail(Problem::Py(e)));
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        return number_from_int(obj);
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return number_from_float(f.value());
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return map_to_json(d, depth).map(Value::Object);
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return seq_to_json(l.iter(), depth);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return seq_to_json(t.iter(), depth);
    }
    if let Ok(m) = obj.cast::<PyMapping>() {
        return mapping_to_json(m, depth).map(Value::Object);
    }
    Err(fail(Problem::Type(type_name(obj))))
}

fn seq_to_json<'py>(items: impl Iterator<Item = Bound<'py, PyAny>>, depth: usize) -> Result<Value, Fail> {
    let mut out = Vec::new();
    for (i, item) in items.enumerate() {
        out.push(value_to_json(&item, depth + 1).map_err(|f| f.at(format!("[{i}]")))?);
    }
    Ok(Value::Array(out))
}

fn mapping_to_json(m: &Bound<'_, PyMapping>, depth: usize) -> Result<Map<String, Value>, Fail> {
    let items = m.items().map_err(|e| fail(Problem::Py(e)))?;
    let mut map = Map::new();
    for item in items.iter() {
        let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract().map_err(|e| fail(Problem::Py(e)))?;
        let key = key_text(&k)?;
        let value = value_to_json(&v, depth + 1).map_err(|f| f.at(format!("[{key:?}]")))?;
        map.insert(key, value);
    }
    Ok(map)
}

/// Any JSON value (an inline policy); `name` names the argument in errors.
pub(crate) fn to_json(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Value> {
    value_to_json(obj, 0).map_err(|f| f.into_py(obj.py(), name))
}

/// A JSON object from a `dict` (fast path) or any other mapping; `None` is empty.
pub(crate) fn to_map(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Map<String, Value>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Map::new());
    };
    let result = if let Ok(d) = obj.cast::<PyDict>() {
        map_to_json(d, 0)
    } else if let Ok(m) = obj.cast::<PyMapping>() {
        mapping_to_json(m, 0)
    } else {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a dict (or another mapping), not {}",
            type_name(obj)
        )));
    };
    result.map_err(|f| f.into_py(obj.py(), name))
}

/// A JSON value as a Python object.
pub(crate) fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}
