"""Smoke tests of the training examples' code paths: a few tiny steps each, checkpoint + resume, same seed."""
import importlib.util
import os

import pytest

import tritorch as tt

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def digits():
    return _load("digits")


@pytest.fixture(scope="module")
def gpt_addition():
    return _load("gpt_addition")


def _equal(a, b) -> bool:
    # (tritorch has no tt.equal yet)
    return a.shape == b.shape and bool((a == b).all().item())


def _same_weights(path_a, path_b) -> bool:
    a, b = tt.load(path_a)["model"], tt.load(path_b)["model"]
    return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_digits_trains_resumes_and_repeats(digits, model, tmp_path, capsys):
    def run(epochs, path, *extra):
        return digits.main(["--model", model, "--epochs", str(epochs), "--limit", "96", "--batch-size", "32",
                            "--checkpoint", str(path), "--no-progress", "--device", "cpu", *extra])

    straight = run(2, tmp_path / "straight.safetensors")
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("test accuracy: ")
    assert 0.0 <= straight <= 1.0
    assert run(2, tmp_path / "again.safetensors") == straight               # same seed, same result
    assert _same_weights(tmp_path / "straight.safetensors", tmp_path / "again.safetensors")
    run(2, tmp_path / "resumed.safetensors", "--stop-after", "1")            # stop after one epoch ...
    assert run(2, tmp_path / "resumed.safetensors", "--resume") == straight  # ... and continue: same result
    assert _same_weights(tmp_path / "straight.safetensors", tmp_path / "resumed.safetensors")
    checkpoint = tt.load(tmp_path / "resumed.safetensors")
    assert int(checkpoint["epoch"]) == 2 and "state" in checkpoint["optimizer"]


def test_digits_split_is_fixed(digits):
    train, test = digits.load_digits("cpu")
    assert len(train) == 1437 and len(test) == 360
    assert tuple(train.tensors[0].shape[1:]) == (1, 8, 8) and float(train.tensors[0].max()) <= 1.0
    assert _equal(digits.load_digits("cpu")[1].tensors[1], test.tensors[1])


def test_gpt_addition_trains_resumes_and_repeats(gpt_addition, tmp_path, capsys):
    def run(steps, path, *extra):
        return gpt_addition.main(["--digits", "2", "--steps", str(steps), "--batch-size", "8", "--n-layer", "1",
                                  "--n-embd", "16", "--n-head", "2", "--warmup", "2", "--n-test", "40",
                                  "--samples", "2", "--checkpoint", str(path), "--no-progress", "--device", "cpu", *extra])

    straight = run(4, tmp_path / "straight.safetensors")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("held-out exact match: ") and "=" in lines[-4]
    assert run(4, tmp_path / "again.safetensors") == straight
    assert _same_weights(tmp_path / "straight.safetensors", tmp_path / "again.safetensors")
    run(4, tmp_path / "resumed.safetensors", "--stop-after", "2")
    assert run(4, tmp_path / "resumed.safetensors", "--resume") == straight
    assert _same_weights(tmp_path / "straight.safetensors", tmp_path / "resumed.safetensors")


def test_gpt_addition_task_encoding(gpt_addition):
    task = gpt_addition.Addition(digits=3, n_test=10, seed=0)
    prompts, answers = task.encode(tt.tensor([123456, 999999]))
    assert prompts[0].tolist() == [1, 2, 3, gpt_addition.PLUS, 4, 5, 6, gpt_addition.EQUALS]
    assert answers.tolist() == [[9, 7, 5, 0], [8, 9, 9, 1]]               # 579 and 1998, reversed
    assert task.to_text(prompts[0], answers[0]) == "123+456=579"
    assert set(task.test_problems.tolist()).isdisjoint(task.train_problems[:1000].tolist())
    factor = gpt_addition.warmup_cosine(warmup=10, total=110)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0) and factor(110) == pytest.approx(0.1)
