#!/usr/bin/env bash
# Re-create the reader-side JavaScript assets the book serves itself instead of loading
# them from CDNs (MathJax 3, require.js, the ipywidgets html-manager).
#
# Pinned npm versions, verified by SHA-256 of the npm tarballs. Only the files a built
# page actually needs are kept (see book/vendor/README.md). Run from anywhere:
#   bash book/vendor/fetch_assets.sh
# plotly.min.js is NOT vendored here: the book runner copies it from the installed
# plotly package at build time, so its version always matches the Python package.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
static="$here/static"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fetch() {  # fetch <npm spec> <tarball name> <sha256>
  (cd "$work" && npm pack --silent "$1" >/dev/null)
  echo "$3  $work/$2" | sha256sum --check --quiet
  mkdir -p "$work/${2%.tgz}"
  tar xzf "$work/$2" -C "$work/${2%.tgz}"
}

fetch mathjax@3.2.2 mathjax-3.2.2.tgz \
  1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
fetch requirejs@2.3.8 requirejs-2.3.8.tgz \
  777158e89275e16bd51aec3ef714fbcb5dc45789e7078659933bc814916d7dec
fetch @jupyter-widgets/html-manager@1.0.15 jupyter-widgets-html-manager-1.0.15.tgz \
  2b9d65cb7913e1c7d671757a10008b32c9c2448d4429513371e55c07d6107638

# Replace only the vendored folders; static/dnnalign/ holds the project's own files.
rm -rf "$static/mathjax" "$static/requirejs" "$static/html-manager"
mkdir -p "$static/mathjax/input/tex" "$static/mathjax/output/chtml/fonts" \
  "$static/mathjax/a11y" "$static/requirejs" "$static/html-manager"

# MathJax 3: the tex-chtml component, its TeX extensions (loaded on demand by
# autoload/require), the CHTML woff2 fonts, the menu and the assistive-MathML module.
mj="$work/mathjax-3.2.2/package"
cp "$mj/LICENSE" "$mj/package.json" "$static/mathjax/"
cp "$mj/es5/tex-chtml.js" "$static/mathjax/"
cp -r "$mj/es5/input/tex/extensions" "$static/mathjax/input/tex/"
cp -r "$mj/es5/output/chtml/fonts/woff-v2" "$static/mathjax/output/chtml/fonts/"
cp -r "$mj/es5/ui" "$static/mathjax/"
cp "$mj/es5/a11y/assistive-mml.js" "$static/mathjax/a11y/"

# require.js (the licence is in the file header; MIT).
rj="$work/requirejs-2.3.8/package"
cp "$rj/require.js" "$rj/package.json" "$static/requirejs/"

# ipywidgets html-manager: the AMD embed bundle, its third-party licence notices and
# the Font Awesome woff2 fonts its CSS refers to.
hm="$work/jupyter-widgets-html-manager-1.0.15/package"
cp "$hm/dist/embed-amd.js" "$hm/dist/embed.js.LICENSE.txt" "$hm/package.json" \
  "$static/html-manager/"
cp "$hm"/dist/*.woff2 "$static/html-manager/"
# The npm package declares BSD-3-Clause but ships no licence file; this is the
# ipywidgets project's licence text (github.com/jupyter-widgets/ipywidgets, LICENSE).
cat >"$static/html-manager/LICENSE" <<'LICENCE'
BSD 3-Clause License

Copyright (c) 2015 Project Jupyter Contributors
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.

3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from
   this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
LICENCE

du -sh "$static"
