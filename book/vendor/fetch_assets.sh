#!/usr/bin/env bash
# Re-create the reader-side JavaScript assets the book serves itself instead of loading
# them from CDNs (KaTeX, require.js, the ipywidgets html-manager, plotly.js).
#
# Pinned npm versions, verified by SHA-256 of the npm tarballs. Only the files a built
# page actually needs are kept (see book/vendor/README.md). Run from anywhere:
#   bash book/vendor/fetch_assets.sh
# plotly.js: the official cartesian partial bundle, whose version must be the one the
# installed plotly package ships (the book runner refuses to build otherwise; change
# the version and checksum below when plotly is upgraded).
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

fetch katex@0.19.1 katex-0.19.1.tgz \
  24da5a599eb2fcede2e270b99a6ff48bca816beecc95feeb84e8cccbd1bb34fd
fetch requirejs@2.3.8 requirejs-2.3.8.tgz \
  777158e89275e16bd51aec3ef714fbcb5dc45789e7078659933bc814916d7dec
fetch @jupyter-widgets/html-manager@1.0.15 jupyter-widgets-html-manager-1.0.15.tgz \
  2b9d65cb7913e1c7d671757a10008b32c9c2448d4429513371e55c07d6107638
fetch plotly.js-cartesian-dist-min@4.1.1 plotly.js-cartesian-dist-min-4.1.1.tgz \
  c5f9a84666b97e571a04de689e09319869e60900e265c89eac2f71d0b5a0de88

# Replace only the vendored folders; static/dnnalign/ holds the project's own files.
rm -rf "$static/katex" "$static/requirejs" "$static/html-manager" "$static/plotly"
mkdir -p "$static/katex/fonts" "$static/requirejs" "$static/html-manager" "$static/plotly"

# KaTeX: the script, its style sheet and its woff2 fonts (every browser the theme
# supports reads woff2; the style sheet's woff/ttf fallbacks are never fetched).
kt="$work/katex-0.19.1/package"
cp "$kt/LICENSE" "$kt/package.json" "$kt/dist/katex.min.js" "$kt/dist/katex.min.css" \
  "$static/katex/"
cp "$kt"/dist/fonts/*.woff2 "$static/katex/fonts/"

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

# plotly.js, cartesian partial bundle (trace types bar, box, contour, heatmap,
# histogram, histogram2d, histogram2dcontour, image, pie, scatter, scatterternary,
# violin): 1.5 MB instead of the full bundle's 4.8 MB.
pj="$work/plotly.js-cartesian-dist-min-4.1.1/package"
cp "$pj/plotly-cartesian.min.js" "$pj/LICENSE" "$pj/package.json" "$static/plotly/"

du -sh "$static"
