# Sourced by test.sh and .ci/run: the browser tests need Debian's Chromium and a Chinese font.
# Installs them with apt when missing (as root, or through sudo); exports GRID_CHROMIUM.
browser_apt() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@" >/dev/null
}
if ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1; then
  echo "installing Chromium for the browser tests (apt: chromium chromium-driver)" >&2
  browser_apt chromium chromium-driver
fi
if [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  echo "installing a Chinese font for the browser tests (apt: fontconfig fonts-noto-cjk)" >&2
  browser_apt fontconfig fonts-noto-cjk
fi
export GRID_CHROMIUM="${GRID_CHROMIUM:-$(command -v chromium)}"
