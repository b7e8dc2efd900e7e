#!/usr/bin/env bash
# Install the Debian packages a Makefile step needs, only when what they provide is missing.
#
#   bash tools/apt_need.sh venv       # python3 -m venv (Debian splits it into python3-venv)
#   bash tools/apt_need.sh npm        # node and npm, for MathJax
#   bash tools/apt_need.sh chromium   # the browser tools/check_site.py drives
#   bash tools/apt_need.sh tex        # XeLaTeX, latexmk, the fonts and poppler, for `make pdf`
#
# Runs apt-get as root, or with sudo; on a machine without apt-get it says what to install.
set -euo pipefail

packages=()
for need in "$@"; do
  case "$need" in
    venv)
      python3 -c 'import ensurepip, venv' 2>/dev/null \
        || packages+=("python3-venv") ;;
    npm)
      { command -v node && command -v npm; } >/dev/null 2>&1 || packages+=(nodejs npm) ;;
    chromium)
      { command -v chromium || command -v chromium-browser; } >/dev/null 2>&1 \
        || packages+=(chromium) ;;
    tex)
      { command -v xelatex && command -v latexmk && command -v pdftotext \
          && kpsewhich STIXTwoMath-Regular.otf && [ -n "$(fc-list FreeSerif)" ]; } >/dev/null 2>&1 \
        || packages+=(texlive-xetex texlive-latex-extra texlive-fonts-recommended
                      texlive-fonts-extra texlive-science latexmk fonts-dejavu
                      fonts-freefont-otf poppler-utils) ;;
    *)
      echo "apt_need.sh: unknown need '$need'" >&2; exit 2 ;;
  esac
done
((${#packages[@]})) || exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "This step needs: ${packages[*]} (Debian names); install them and run make again." >&2
  exit 1
fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "== installing Debian packages: ${packages[*]}"
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  "${packages[@]}" >/dev/null
