#!/bin/sh
# Outputs a user can trust: the report as a real browser draws it, and no silent
# acceptance of input the tool cannot honour.
#   - `reproduce --quick` with a corpus and an output directory whose names hold HTML,
#     rendered by headless Chromium with a checker script injected into a copy of the
#     page: every element id unique, every drawn line reaching its last point inside
#     its own plot area (hit-tested, so a clip the browser applies counts), no two text
#     labels of a figure overlapping, user strings escaped (no <img>, no <script>);
#   - one check per formerly silent case of the command-line tool (verify, train,
#     simulate, sweep, reproduce, eig, golden vectors with bad token ids).
#   sh tests/outputs_report.sh     PASS/FAIL lines (SKIP without Chromium, a FAIL under
#                                  CI=true); exit 1 on any FAIL. Needs build/qkspec.
# QK_REPORT_SHOT=FILE.png also saves a screenshot of the page.
set -u
cd "$(dirname "$0")/.." || exit 2
Q=build/qkspec
fails=0
ok() { echo "PASS outputs $*"; }
bad() { echo "FAIL outputs $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# expect LABEL SUBSTRING CMD...: a non-zero exit whose output holds SUBSTRING
expect() {
    label=$1; want=$2; shift 2
    "$@" > "$tmp/e.out" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ] && grep -qF -- "$want" "$tmp/e.out"; then ok "$label"
    else bad "$label (exit $rc, wanted '$want'): $(head -n 2 "$tmp/e.out" | tr '\n' ' ')"; fi
}

# ---------------------------------------------------------------- the report
# The page checker, run by the browser at the end of a copy of the page. Hit-testing
# (elementsFromPoint) answers "is this line drawn here?" the way the browser draws,
# clip paths included; only polylines take part, as solid 6 px lines.
checker_js() {
    cat << 'JS'
(function () {
  var out = [];
  function say(s) { out.push('QKCHECK ' + s); }
  /* ids first, before this script adds anything */
  var seen = {}, dup = {};
  Array.prototype.forEach.call(document.querySelectorAll('[id]'), function (e) {
    if (seen[e.id]) dup[e.id] = 1;
    seen[e.id] = 1;
  });
  say('ids ' + Object.keys(seen).length + ' duplicated ' + Object.keys(dup).length + ' ' + Object.keys(dup).slice(0, 5).join(' '));
  say('elements img ' + document.querySelectorAll('img').length + ' script ' + (document.querySelectorAll('script').length - 1));
  /* hit-testing shows what the browser really draws: only polylines take part, as
     solid lines wide enough to hit */
  var st = document.createElement('style');
  st.textContent = 'svg, svg * { pointer-events: none !important; } polyline { pointer-events: stroke !important; ' +
                   'stroke-dasharray: none !important; stroke-width: 6px !important; }';
  document.head.appendChild(st);
  var figs = Array.prototype.filter.call(document.querySelectorAll('svg'), function (s) { return !s.ownerSVGElement; });
  var nfig = 0, npoly = 0, bad = 0, overlaps = 0, outside = 0;
  function inRect(x, y, r, tol) { return x >= r.left - tol && x <= r.right + tol && y >= r.top - tol && y <= r.bottom + tol; }
  figs.forEach(function (svg, fi) {
    var t = svg.querySelector('text[font-size="15"]');
    var title = t ? t.textContent : 'figure ' + fi;
    nfig++;
    /* text: no two labels overlap, none leaves the figure */
    var texts = Array.prototype.map.call(svg.querySelectorAll('text'), function (e) { return [e, e.getBoundingClientRect()]; });
    var sr = svg.getBoundingClientRect();
    for (var i = 0; i < texts.length; i++) {
      var a = texts[i][1];
      if (a.left < sr.left - 0.5 || a.right > sr.right + 0.5 || a.top < sr.top - 0.5 || a.bottom > sr.bottom + 0.5) {
        outside++;
        say('BAD text-outside "' + title + '": "' + texts[i][0].textContent + '"');
      }
      for (var j = i + 1; j < texts.length; j++) {
        var b = texts[j][1];
        /* side by side, labels need 2 px between them to read as two; a glyph box
           includes line spacing, so stacked ones may touch by 1 px */
        if (a.left < b.right + 2 && b.left < a.right + 2 && a.top < b.bottom - 1 && b.top < a.bottom - 1) {
          overlaps++;
          say('BAD text-overlap "' + title + '": "' + texts[i][0].textContent + '" and "' + texts[j][0].textContent + '"');
        }
      }
    }
    var frame = svg.querySelector(':scope > rect[fill="none"][stroke="black"]');
    var polys = svg.querySelectorAll('polyline');
    if (!polys.length || !frame) return;
    var xl = Array.prototype.some.call(svg.querySelectorAll('text'), function (e) { return e.textContent === 'training step'; });
    Array.prototype.forEach.call(polys, function (pl, k) {
      npoly++;
      var pts = pl.points, n = pts.numberOfItems;
      if (n < 2) { bad++; say('BAD "' + title + '" polyline ' + k + ': ' + n + ' point(s)'); return; }
      var m = pl.getScreenCTM();
      var p = pts.getItem(n - 1).matrixTransform(m), q = pts.getItem(n - 2).matrixTransform(m);
      window.scrollBy(0, p.y - window.innerHeight / 2);
      m = pl.getScreenCTM();
      p = pts.getItem(n - 1).matrixTransform(m);
      q = pts.getItem(n - 2).matrixTransform(m);
      var box = frame.getBoundingClientRect();
      var why = [];
      for (var i = 0; i < n; i++) {
        var r = pts.getItem(i).matrixTransform(m);
        if (!inRect(r.x, r.y, box, 0.6)) { why.push('point ' + i + ' outside its plot area'); break; }
      }
      /* 1.5 px back from the last point along the last segment: on the line's axis */
      var dx = q.x - p.x, dy = q.y - p.y, len = Math.sqrt(dx * dx + dy * dy);
      var hx = p.x + (len > 0 ? 1.5 * dx / len : 0), hy = p.y + (len > 0 ? 1.5 * dy / len : 0);
      if (hx < 0 || hy < 0 || hx >= window.innerWidth || hy >= window.innerHeight) why.push('last point off screen');
      else if (document.elementsFromPoint(hx, hy).indexOf(pl) < 0) why.push('last point not drawn (clipped away)');
      if (xl && Math.abs(p.x - box.right) > 1.0) why.push('ends at x ' + (p.x - box.left).toFixed(1) + ' of ' + box.width.toFixed(1) + ' px');
      if (why.length) { bad++; say('BAD "' + title + '" polyline ' + k + ': ' + why.join('; ')); }
    });
  });
  say('figures ' + nfig + ' polylines ' + npoly + ' bad ' + bad + ' text-overlaps ' + overlaps + ' text-outside ' + outside);
  var pre = document.createElement('pre');
  pre.textContent = '\n' + out.join('\n') + '\n';
  document.body.appendChild(pre);
})();
JS
}

mkdir -p "$tmp/in"
corpus="$tmp/in/<img src=x onerror=alert(1)>.txt"
cat README.md README.md > "$corpus"
rep="$tmp/rep <b>&amp;"
if $Q reproduce --quick --steps 40 --text "$corpus" --out "$rep" > "$tmp/rep.log" 2>&1 && [ -s "$rep/index.html" ]; then
    ok "reproduce --quick: a report with a corpus and directory named with HTML"
else bad "reproduce --quick: $(tail -n 3 "$tmp/rep.log" | tr '\n' ' ')"; fi
page="$rep/index.html"
if [ -s "$page" ] && ! grep -q '<img' "$page" && ! grep -q '<b>' "$page" &&
   grep -qF '&lt;img src=x onerror=alert(1)&gt;.txt' "$page" && grep -qF 'rep &lt;b&gt;&amp;amp;' "$page"; then
    ok "report: file and directory names are HTML-escaped"
else bad "report: user strings not escaped: $(grep -o '.\{20\}<img.\{20\}' "$page" 2>/dev/null | head -n 1)"; fi

browser=${CHROMIUM:-chromium}
if ! command -v "$browser" > /dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then bad "report in a browser: $browser not installed (sh tools/install-deps.sh)"
    else echo "SKIP outputs report in a browser: $browser not installed (sh tools/install-deps.sh)"; fi
elif ! { timeout 120 "$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/probe" \
            --dump-dom "data:text/html,<p>qk-probe</p>" 2> "$tmp/probe.log" | grep -q qk-probe; }; then
    # a browser that cannot show a one-line page on this host (Chromium aborts under
    # qemu-user, for one) is said, not taken for a report fault; CI must run it
    why=$(grep -E 'FATAL|ERROR|qemu' "$tmp/probe.log" | tail -n 1 | cut -c1-160)
    if [ "${CI:-}" = "true" ]; then bad "report in a browser: $browser does not render a page on this host: $why"
    else echo "SKIP outputs report in a browser: $browser does not render a page on this host ($why)"; fi
elif [ -s "$page" ]; then
    # the checker (checker_js, above) runs after layout and writes its findings into
    # the page as lines "QKCHECK ..."; the DOM is dumped and read back
    sed 's#</body></html>##' "$page" > "$rep/check.html"
    { echo '<script>'; checker_js; echo '</script></body></html>'; } >> "$rep/check.html"
    flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
           --disable-component-update --disable-sync --hide-scrollbars --window-size=1400,1000"
    # shellcheck disable=SC2086
    timeout 120 "$browser" $flags --user-data-dir="$tmp/profile" --dump-dom "file://$rep/check.html" \
        > "$tmp/dom.html" 2> "$tmp/chromium.log"
    grep '^QKCHECK' "$tmp/dom.html" | sed 's/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g; s/&amp;/\&/g' > "$tmp/check.out"
    if [ -n "${QK_REPORT_SHOT:-}" ]; then
        # shellcheck disable=SC2086
        timeout 120 "$browser" $flags --window-size=1280,7000 --user-data-dir="$tmp/profile2" \
            --screenshot="$QK_REPORT_SHOT" "file://$page" > /dev/null 2>&1
    fi
    summary=$(sed -n 's/^QKCHECK figures //p' "$tmp/check.out")
    if [ -z "$summary" ]; then
        bad "report in $browser: the checker gave no result: $(tail -n 2 "$tmp/chromium.log" | tr '\n' ' ')"
    else
        set -- $summary # N polylines N bad N text-overlaps N text-outside N
        figs=$1 polys=$3 badp=$5 ovl=$7 outside=$9
        ids=$(sed -n 's/^QKCHECK ids \([0-9]*\) duplicated \([0-9]*\).*/\1 \2/p' "$tmp/check.out")
        if [ "${ids#* }" = "0" ]; then ok "report in $browser: element ids unique (${ids% *} ids)"
        else bad "report in $browser: duplicated ids: $(grep '^QKCHECK ids' "$tmp/check.out")"; fi
        if [ "$figs" -ge 14 ] && [ "$polys" -ge 40 ] && [ "$badp" -eq 0 ]; then
            ok "report in $browser: all $polys lines of $figs figures reach their last point inside their own plot area"
        else bad "report in $browser: $badp of $polys lines cut short ($figs figures):"; grep 'BAD "' "$tmp/check.out" | head -n 5; fi
        if [ "$ovl" -eq 0 ] && [ "$outside" -eq 0 ]; then ok "report in $browser: no overlapping or cut-off text in any figure"
        else bad "report in $browser: $ovl overlapping, $outside cut-off labels:"; grep 'BAD text' "$tmp/check.out" | head -n 5; fi
        if grep -q '^QKCHECK elements img 0 script 0$' "$tmp/check.out"; then ok "report in $browser: no element from a user string"
        else bad "report in $browser: $(grep '^QKCHECK elements' "$tmp/check.out")"; fi
    fi
fi
# perplexity (~V down to a few) and r_l (0.7 down to 1e-7) span decades: log axes,
# seen as tick labels one decade apart in their figures
figure() { awk -v t="$1" '/^<svg /{buf = ""} {buf = buf $0 "\n"} /^<\/svg>/ && index(buf, ">" t) {print buf}' "$page"; }
if figure "validation perplexity" | grep -q '>10<' && figure "validation perplexity" | grep -q '>100<' &&
   figure "r_l along depth" | grep -q '>1e-06<' && figure "r_l along depth" | grep -q '>1e-05<'; then
    ok "report: perplexity and r_l on log axes"
else bad "report: perplexity or r_l not on a log axis"; fi

# ---------------------------------------------------------------- verify
mkdir "$tmp/many"
i=0
while [ $i -lt 300 ]; do
    printf 'qkspec-vectors 1\ncase t%d\nop sum\nin x f32 2\n3f800000 40000000\nout s f32 1\n40400000\nend\n' $i \
        > "$tmp/many/f$(printf %03d $i).qkv"
    i=$((i + 1))
done
if $Q verify "$tmp/many" > "$tmp/v.out" 2>&1 && grep -q ': 300 cases in 300 files, 0 mismatching' "$tmp/v.out"; then
    ok "verify: 300 files, every one checked"
else bad "verify of 300 files: $(tail -n 1 "$tmp/v.out")"; fi
printf 'qkspec-vectors 1\ncase t\nop sum\nin x f32 2\n3f800000 40000000\nout s f32 1\n40400001\nend\n' > "$tmp/many/f299.qkv"
expect "verify: a mismatch in the 300th file fails" "300 cases in 300 files, 1 mismatching" $Q verify "$tmp/many"
printf 'qkspec-vectors 1\n# nothing else\n' > "$tmp/header.qkv"
expect "verify: a file with only the header fails" "no cases (only the header)" $Q verify "$tmp/header.qkv"

# a token id that is NaN or 2^31 (undefined as an int) is an error naming its line
awk '/^case /{buf = ""; inc = 1} inc {buf = buf $0 "\n"}
     /^end$/ {if (inc && !done && buf ~ /\nop model_step\n/ && buf ~ /\nparam kind 0\n/) {printf "qkspec-vectors 1\n%s", buf; done = 1}; inc = 0}' \
    vectors/model.qkv > "$tmp/lm.qkv"
for tok in 7fc00000:nan 4f000000:2.14748365e+09; do
    awk -v v="${tok%%:*}" '/^in data / {d = NR} NR == d + 1 && d {$2 = v; print "line", NR > "/dev/stderr"} {print}' \
        "$tmp/lm.qkv" > "$tmp/tok.qkv" 2> "$tmp/tok.line"
    line=$(sed -n 's/^line //p' "$tmp/tok.line")
    expect "verify: token id ${tok#*:} is an error at its line" "tok.qkv: line $line: case" $Q verify "$tmp/tok.qkv"
done

# ---------------------------------------------------------------- paths, options
seg=$(printf '%0200d' 0)
long="$tmp/$seg/$seg/$seg/$seg/$seg"
label=$(printf 'L%0149d' 0)
mkdir -p "$long"
if $Q train --preset tiny --steps 2 --eval-every 1 --quiet --out "$long" --label "$label" > "$tmp/t.out" 2>&1 &&
   [ -s "$long/${label}_evals.csv" ] && [ -s "$long/${label}_rho.csv" ]; then
    ok "train: --out and --label over 1023 bytes give both CSV files their full names"
else bad "train with a long path: $(tail -n 2 "$tmp/t.out" | tr '\n' ' ')"; fi
if $Q simulate --d 8 --seq 4 --walks 2 --draws 1 --means 1 --scales 1 --sigma identity --out "$long/$seg" > "$tmp/s.out" 2>&1 &&
   [ -s "$long/$seg/sim_cells.csv" ] && [ -s "$long/$seg/sim_rho.csv" ]; then
    ok "simulate: --out over 1200 bytes"
else bad "simulate with a long path: $(tail -n 2 "$tmp/s.out" | tr '\n' ' ')"; fi

expect "train: --vocab with bytes is refused" "add --words" $Q train --vocab 100 --steps 1
params() { $Q train --preset tiny --seq 16 --steps 1 --quiet --words --text "$corpus" "$@" 2>&1 | sed -n 's/.*, \([0-9]*\) parameters,.*/\1/p'; }
p100=$(params --vocab 100) p100m=$(params --vocab-max 100) p50=$(params --vocab 50)
if [ -n "$p100" ] && [ "$p100" = "$p100m" ] && [ "$p100" != "$p50" ]; then
    ok "train: --words --vocab N sizes the vocabulary ($p100 parameters at 100 words, $p50 at 50)"
else bad "train --words --vocab: parameters '$p100' (--vocab 100), '$p100m' (--vocab-max 100), '$p50' (--vocab 50)"; fi
expect "train: a label that would add a CSV column is refused" "--label 'a,b'" $Q train --label 'a,b' --steps 1
expect "simulate: an empty list element is refused" "--means: empty element 2 in '1,,2,'" $Q simulate --means 1,,2,
for o in "--kappa2 1" "--sigma-reparam qk" "--label x"; do
    expect "sweep: ${o% *} (set by the sweep plan) is refused" "${o% *} cannot be given" $Q sweep $o --steps 1
done
for c in reproduce simulate train; do
    expect "$c: --out without a value" "--out needs a value" $Q $c --out
done
$Q reproduce --text "$tmp/missing.txt" --out "$tmp/rm" > "$tmp/r.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && [ "$(grep -c 'cannot read' "$tmp/r.out")" -eq 1 ] && [ ! -e "$tmp/rm" ] &&
   ! grep -q 'simulation' "$tmp/r.out"; then ok "reproduce: a missing corpus is one error, before any work"
else bad "reproduce --text missing (exit $rc): $(head -n 3 "$tmp/r.out" | tr '\n' ' ')"; fi
expect "eig: a directory is named as one" "is a directory" $Q eig "$tmp/in"
$Q eig build/qkspec > "$tmp/b.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q 'binary data' "$tmp/b.out" && [ "$(LC_ALL=C tr -d '\n -~' < "$tmp/b.out" | wc -c)" -eq 0 ]; then
    ok "eig: a binary file is refused without echoing its bytes"
else bad "eig on a binary file (exit $rc): $(LC_ALL=C tr -cd '\n -~' < "$tmp/b.out" | head -c 200)"; fi

[ "$fails" -eq 0 ]
