# The two sacred commands: `make demo` and `make test`. Both set up everything they need on a
# fresh Debian machine (Debian packages for headless GL, a venv in .venv, the package) and are
# idempotent: a second run only re-runs the job.
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP_DATA := $(VENV)/.stamp-data
STAMP_ALL := $(VENV)/.stamp-all
GL_PKGS := libegl1 libopengl0 libegl-mesa0 libgl1-mesa-dri libosmesa6
DEMO_OUT ?= demo_out

.PHONY: demo test gl-deps setup setup-all bench clean

gl-deps:
	@missing=""; for p in $(GL_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing headless GL packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(VPY):
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip

$(STAMP_DATA): setup.cfg setup.py | $(VPY)
	$(VPY) -m pip install -q -e .
	touch $@

# torch==2.13.0 is pinned because that CPU wheel lies on local disk; an unpinned torch pulls
# GBs of CUDA. torchvision must not be installed beside it (see docs/training.md).
$(STAMP_ALL): setup.cfg setup.py | $(VPY)
	$(VPY) -m pip install -q torch==2.13.0
	$(VPY) -m pip install -q -e ".[train,dev,ray,bench]"
	touch $(STAMP_DATA) $@

setup: gl-deps $(STAMP_DATA)
setup-all: gl-deps $(STAMP_ALL)

demo: setup-all
	$(VENV)/bin/robotr1-data demo --out $(DEMO_OUT)

test: setup-all
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(VPY) -m pytest -q -m "not slow" tests

bench: setup-all
	$(VPY) bench/record.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info
