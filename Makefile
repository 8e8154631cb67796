# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FORGE := pyscf-forge==1.1.1
export PATH := $(abspath $(BIN)):$(PATH)
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: demo test lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: a CPU build from local disk (a bare `torch` would pull a CUDA build).
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[all]'
	# pyscf-forge (LNO-CCSD(T), labelers/pyscf/lno.py) is a source archive only: built with CMake
	# against the BLAS that PySCF's own wheel ships (no system BLAS needed).
	PYSCF_DIR=$$($(BIN)/python -c 'import os, pyscf; print(os.path.dirname(pyscf.__file__))'); \
	BLAS=$$(ls $$PYSCF_DIR/lib/libopenblas*.so 2>/dev/null | head -n 1); \
	BUILD_OCCRI=OFF CMAKE_BUILD_ARGS=-j2 \
	CMAKE_CONFIGURE_ARGS="-DPYSCF_SOURCE_DIR=$$PYSCF_DIR $${BLAS:+-DBLAS_LIBRARIES=$$BLAS}" \
	$(BIN)/pip install --quiet --no-deps --no-build-isolation '$(FORGE)'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/acquire demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy  # files and options: [tool.mypy] in pyproject.toml

clean:
	rm -rf $(VENV) build *.egg-info
