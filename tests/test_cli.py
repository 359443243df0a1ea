"""The command line, run as a subprocess: ``python -m s2sad show FILE.py:FUNC ...``."""

import ast
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import optimised

MODEL = textwrap.dedent('''\
    import numpy as np


    def f(x, y):
        v = np.cos(x) + x * y
        return np.exp(v) + v ** 2


    def layer(W, b, x):
        h = np.tanh(W @ x + b)
        return np.sum(h ** 2) + h[0]


    def broken(x):
        y = x * 2.0
        s = "text"
        return y


    def pairs(pos):
        e = 0.0
        for i in range(pos.shape[0]):
            for j in range(i + 1, pos.shape[0]):
                d = pos[i] - pos[j]
                e = e + np.sum(d * d)
        return e
''')
BROKEN_LINE = MODEL.splitlines().index('    s = "text"') + 1


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    return path


def run(*args, cwd=None, unset=()):
    env = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run([sys.executable, "-m", "s2sad", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=60)


def test_show_prints_reverse_mode_python(model):
    out = run("show", f"{model}:f")
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    compile(out.stdout, "f_vjp.py", "exec")
    assert "def f_vjp(" in out.stdout
    assert "# forward sweep" in out.stdout and "# reverse sweep" in out.stdout
    assert out.stdout.index("# forward sweep") < out.stdout.index("# reverse sweep")


def test_show_output_runs(model):
    """The printed module is importable and computes the gradient."""
    import numpy as np
    out = run("show", f"{model}:f", "--wrt", "x,y")
    namespace = {}
    exec(compile(out.stdout, "f_vjp.py", "exec"), namespace)
    x, y = 0.3, -0.7
    value, gx, gy, tape_bytes = namespace["f_vjp"](x, y, 1.0)
    assert tape_bytes == 0  # no loops, nothing taped
    v = np.cos(x) + x * y
    assert value == pytest.approx(np.exp(v) + v ** 2)
    assert gx == pytest.approx((np.exp(v) + 2 * v) * (y - np.sin(x)))
    assert gy == pytest.approx((np.exp(v) + 2 * v) * x)


def test_show_forward(model):
    out = run("show", f"{model}:f", "--mode", "forward")
    assert out.returncode == 0, out.stderr
    compile(out.stdout, "f_jvp.py", "exec")
    tree = ast.parse(out.stdout)
    (fn,) = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert fn.name == "f_jvp"
    assert [a.arg for a in fn.args.args] == ["x", "y", "x_dot"]
    assert "# reverse sweep" not in out.stdout


def test_show_hvp(model):
    """Forward over reverse: the gradient and its tangent H·v, both runnable."""
    out = run("show", f"{model}:f", "--mode", "hvp", "--wrt", "x,y")
    assert out.returncode == 0, out.stderr
    namespace = {}
    exec(compile(out.stdout, "f_hvp.py", "exec"), namespace)
    (fn,) = [node for node in ast.parse(out.stdout).body if isinstance(node, ast.FunctionDef)]
    assert [a.arg for a in fn.args.args] == ["x", "y", "x_dot", "y_dot"]
    x, y = 0.3, -0.7
    v = np.cos(x) + x * y
    w = np.exp(v) + 2.0  # d²f/dv²
    vx, vy = y - np.sin(x), x
    value, gx, gy, hx, hy = namespace["f_hvp"](x, y, 1.0, 0.0)  # the first column of the Hessian
    assert value == pytest.approx(np.exp(v) + v ** 2)
    assert hx == pytest.approx(w * vx * vx - (np.exp(v) + 2 * v) * np.cos(x))
    assert hy == pytest.approx(w * vx * vy + (np.exp(v) + 2 * v))


def test_show_wrt(model):
    for wrt, params in [("x,y", ["x", "y", "out_bar"]), ("y", ["x", "y", "out_bar"])]:
        out = run("show", f"{model}:f", "--wrt", wrt)
        assert out.returncode == 0, out.stderr
        (fn,) = [n for n in ast.parse(out.stdout).body if isinstance(n, ast.FunctionDef)]
        assert [a.arg for a in fn.args.args] == params
        returned = ast.unparse(fn.body[-1])
        assert ("x_bar" in returned) == ("x" in wrt.split(","))
        assert ("y_bar" in returned) == ("y" in wrt.split(","))
    forward = run("show", f"{model}:f", "--wrt", "x,y", "--mode", "forward")
    assert "def f_jvp(x, y, x_dot, y_dot)" in forward.stdout


def test_show_types(model):
    out = run("show", f"{model}:layer", "--types", "W=f64[:,:],b=f64[:],x=f64[:]", "--wrt", "W,b")
    assert out.returncode == 0, out.stderr
    compile(out.stdout, "layer_vjp.py", "exec")
    assert "def layer_vjp(W, b, x, out_bar)" in out.stdout
    assert "W_bar" in out.stdout and "b_bar" in out.stdout
    assert "np.outer" in out.stdout   # the adjoint of a matrix-vector product
    # without --types the parameters are scalars, and `W @ x` on scalars is refused
    scalar = run("show", f"{model}:layer")
    assert scalar.returncode == 2


def test_show_backend(model):
    """Numba's code computes the row differences element by element; the Python backend's keeps
    them vectorised; by default, the code `grad` runs by default (Numba's)."""
    show = ("show", f"{model}:pairs", "--types", "pos=f64[:,:]")
    numba, python = run(*show, "--backend", "numba"), run(*show, "--backend", "python")
    assert numba.returncode == python.returncode == 0, numba.stderr + python.stderr
    assert "for e1 in range(" in numba.stdout and "np.sum" not in numba.stdout
    assert "for e1 in range(" not in python.stdout and "np.sum(d * d)" in python.stdout
    assert run(*show, unset=("S2SAD_BACKEND",)).stdout == numba.stdout


def test_show_checkpointed(model):
    """--checkpoint prints the loop reversed by its schedule: snapshots stored and restored."""
    out = run("show", f"{model}:pairs", "--types", "pos=f64[:,:]", "--checkpoint", "binomial:2",
              "--backend", "python")
    assert out.returncode == 0, out.stderr
    compile(out.stdout, "pairs_vjp.py", "exec")
    assert "binomial_schedule(" in out.stdout and "snap_e[j] = e" in out.stdout
    assert "# restore the state from the row's slot" in out.stdout


def test_show_ir(model):
    out = run("show", f"{model}:f", "--ir")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("def f_vjp(x: f64, y: f64, out_bar: f64):")
    assert "cos(x)" in out.stdout and "# reverse sweep" in out.stdout
    primal = run("show", f"{model}:f", "--ir", "--primal")
    assert primal.stdout.startswith("def f(x: f64, y: f64):")
    assert "v: f64 = add(" in primal.stdout
    assert "_bar" not in primal.stdout
    forward = run("show", f"{model}:f", "--ir", "--mode", "forward")
    assert forward.stdout.startswith("def f_jvp(x: f64, y: f64, x_dot: f64):")


def _assert_one_error_line(out, *fragments):
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_error_in_function_is_one_located_line(model):
    out = run("show", f"{model}:broken")
    _assert_one_error_line(out, f"{model}:{BROKEN_LINE}:", "str constants")


@pytest.mark.parametrize("args, fragment", [
    (["{model}:missing"], "no function 'missing'"),
    (["{model}"], "expected FILE.py:FUNC"),
    (["{dir}/nowhere.py:f"], "no such file"),
    (["{model}:f", "--wrt", "z"], "'z' is not a parameter"),
    (["{model}:f", "--types", "x=f65"], "unknown type 'f65'"),
    (["{model}:f", "--types", "x"], "name=type"),
    (["{model}:f", "--types", "q=f64"], "unknown parameters: q"),
    (["{model}:np"], "Python functions"),
    (["{model}:f", "--checkpoint", "binomial"], "binomial:S or periodic:K"),
    (["{model}:f", "--checkpoint", "binomial:0"], "snapshots must be at least 1"),
])
def test_usage_errors_are_one_line(model, args, fragment):
    args = [a.format(model=model, dir=model.parent) for a in args]
    _assert_one_error_line(run("show", *args), fragment)


def test_syntax_error_in_file_is_one_line(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("def f(x)\n    return x\n")
    _assert_one_error_line(run("show", f"{path}:f"), "bad.py", ":1")


def test_relative_path_and_cwd(model):
    out = run("show", "model.py:f", cwd=model.parent)
    assert out.returncode == 0, out.stderr
    assert "def f_vjp" in out.stdout


def test_help():
    out = run("--help")
    assert out.returncode == 0
    assert "show" in out.stdout
    sub = run("show", "--help")
    assert sub.returncode == 0
    for option in ("--mode", "--wrt", "--types", "--ir", "--primal"):
        assert option in sub.stdout


def test_missing_command_is_a_usage_error():
    out = run()
    assert out.returncode == 2
    assert "usage" in out.stderr


def test_rules_lists_every_supported_operation():
    out = run("rules")
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line.split(None, 1)[1] for line in out.stdout.splitlines() if not line.startswith(("a ", "-a", "x"))}
    assert lines["numpy.sin"] == "forward reverse"
    assert lines["numpy.abs"] == lines["numpy.absolute"] == "forward reverse"
    assert lines["numpy.floor"] == "forward reverse (derivative 0)"
    assert "a @ b" in out.stdout and "x[i] += v, x[a:b] += v" in out.stdout and "x.sum()" in out.stdout
    assert "numpy.fft.fft" not in out.stdout


def test_supported_md_is_current():
    """docs/supported.md is `s2sad rules --markdown`: regenerate it after adding a rule."""
    from s2sad import supported
    path = os.path.join(os.path.dirname(__file__), "..", "docs", "supported.md")
    with open(path) as handle:
        assert handle.read() == supported.markdown(), "run: python -m s2sad rules --markdown > docs/supported.md"


def test_every_registered_rule_is_reachable_or_internal():
    """Each primitive with a rule is something users can write, or one the transforms emit."""
    from s2sad import supported
    from s2sad.frontend.composed import COMPOSED
    from s2sad.rules import RULES
    reachable = {e.primitive for e in supported.entries()}
    reachable |= {p.name for way in COMPOSED.values() for p in way.primitives}  # (of a function lowered into several)
    internal = {"custom", "stop", "zeros_like", "make_tuple", "trip_count", "accumulate", "add_outer", "tape",
                "size", "record", "record_grow", "unbroadcast", "expand_to", "broadcast_like", "untile", "unrepeat",
                "inverse_gaps", "thin_reciprocal", "full_rank_gram", "square_r",  # (the last eleven: for hvp)
                "unrecord", "tape_row", "untape_row",  # (reverse over reverse; rows of tapes stored in a branch)
                "record_ragged", "ragged_row",  # (tapes of arrays whose shape changes from step to step)
                "nonempty_list",  # (a list of arrays used as an array, checked to have items)
                "checked_scale", "checked_range", "checked_ordered_range", "checked_size", "checked_seed",  # (draws
                # written as standard variates in a checkpointed loop)
                "draw_position", "log_draw", "logged_draws",  # (a checkpointed loop's log of its draws)
                "list_resized",  # (the adjoint of a list's growth)
                "last_writes", "checked_mask",  # (stores through index arrays and masks)
                "checked_fraction",  # (the quantile of np.percentile, checked)
                "numpy_divisor",  # (the integer divisor of NumPy's divisions: NumPy's result and warning by 0)
                "fits_shape", "keeps_shape", "joined_shape",  # (a carried array's shape, checked before its loop)
                "masked_product",  # (a singular partial times a tangent or cotangent)
                "trigamma"}  # (the derivative of digamma)
    names = {p.name for p in RULES}
    assert internal <= names and not internal & reachable, "keep the internal list to rules users cannot write"
    missing = sorted(names - reachable - internal)
    assert not missing, f"rules for primitives no user code reaches: {missing}"


GLOBAL_WRITER = textwrap.dedent('''\
    calls = 0.0


    def counted(x):
        global calls
        calls += 1.0
        return x * calls
''')  # (a float: an integer sum's overflow check, which Numba compiled without optimisations cannot cache, would
# add its warning to the error)


@pytest.mark.numba
@pytest.mark.parametrize("mode", ["reverse", "hvp"])
def test_compile_fills_the_cache_that_a_new_process_loads(model, tmp_path, mode):
    """`s2sad compile` compiles without running; the first call of a later process loads the
    machine code (Numba's cache hits, no miss) instead of compiling it."""
    env = optimised(tmp_path, S2SAD_CACHE_DIR=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-m", "s2sad", "compile", f"{model}:layer", "--types",
                          "W=f64[:,:],b=f64[:],x=f64[:]", "--mode", mode], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"compiled the {mode}-mode derivative of {model}:layer in ")
    call = ("s2sad.hvp(model.layer, backend='numba')(W, b, x, W)" if mode == "hvp" else
            "s2sad.grad(model.layer, backend='numba')(W, b, x)")
    script = textwrap.dedent(f'''\
        import sys, numpy as np, s2sad
        sys.path.insert(0, {str(model.parent)!r})
        import model
        W, b, x = np.ones((2, 3)), np.zeros(2), np.ones(3)
        derivative = {call.split("(W,")[0]}
        derivative(W, b, x{", W" if mode == "hvp" else ""})
        stats = derivative.made()[0].core.jitted.stats
        print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
    ''')
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    hits, misses = map(int, out.stdout.split())
    assert hits >= 1 and misses == 0


def test_compile_refuses_what_numba_cannot_compile(tmp_path):
    path = tmp_path / "writer.py"
    path.write_text(GLOBAL_WRITER)
    _assert_one_error_line(run("compile", f"{path}:counted"), "Numba cannot compile the derivative of writer.py:4")
