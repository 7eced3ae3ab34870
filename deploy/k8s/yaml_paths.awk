# Flattens the YAML subset used by deploy/k8s into one line per scalar:
#   FILE <TAB> DOC <TAB> PATH <TAB> VALUE      e.g. agent.yaml 2 spec.template.spec.hostNetwork true
# DOC counts documents ("---") from 0 per file; list items are path[N]. Supported: block maps and
# sequences (a sequence indented under its key), "- key: value" items, quoted and plain scalars,
# "{}", and block scalars ("|", "|-", ">", ">-", their lines joined with "\n"). Not supported (and
# not used there): flow collections other than {} and [], anchors, multi-line plain scalars.
# Comments on their own line are skipped. Usage: awk -f yaml_paths.awk FILE...
function unquote(v) {
  if (v ~ /^".*"$/ || v ~ /^'.*'$/) return substr(v, 2, length(v) - 2)
  return v
}
function emit(path, value) { printf "%s\t%d\t%s\t%s\n", fname, doc, path, unquote(value) }
function join(p, k) { return p == "" ? k : p "." k }
# A "key: value" or "key:" at column n under parent path p.
function keyline(s, n, p,    k, v) {
  k = s
  sub(/:.*/, "", k)
  v = s
  sub(/^[^:]*:[ ]*/, "", v)
  if (v == "") {
    depth++
    ind[depth] = n
    pre[depth] = join(p, k)
  } else if (v ~ /^[|>]-?$/) {
    block_path = join(p, k)
    block_ind = n
    block_text = ""
    block_open = 1
    block_fold = (v ~ /^>/)
  } else {
    emit(join(p, k), v)
  }
}
function flush_block() {
  if (block_open) emit(block_path, block_text)
  block_open = 0
}
FNR == 1 { flush_block(); fname = FILENAME; sub(/.*\//, "", fname); doc = 0; depth = 0; delete cnt }
{
  line = $0
  sub(/\r$/, "", line)
  if (block_open) {
    match(line, /^ */)
    if (line ~ /^ *$/ || RLENGTH > block_ind) {
      text = line
      sub(/^ */, "", text)
      block_text = block_text == "" ? text : block_text (block_fold ? " " : "\\n") text
      next
    }
    flush_block()
  }
  if (line ~ /^---/) { doc++; depth = 0; delete cnt; next }
  if (line ~ /^ *#/ || line ~ /^ *$/) next
  match(line, /^ */)
  n = RLENGTH
  s = substr(line, n + 1)
  while (depth > 0 && ind[depth] >= n) depth--
  p = depth > 0 ? pre[depth] : ""
  if (s ~ /^- /) {
    idx = cnt[p]++
    item = p "[" idx "]"
    rest = substr(s, 3)
    if (rest ~ /^[A-Za-z0-9_.\/-]+:( |$)/) {
      depth++
      ind[depth] = n
      pre[depth] = item
      keyline(rest, n + 2, item)
    } else if (rest ~ /^[|>]-?$/) {
      block_path = item
      block_ind = n
      block_text = ""
      block_open = 1
      block_fold = (rest ~ /^>/)
    } else {
      emit(item, rest)
    }
  } else if (s ~ /^[A-Za-z0-9_.\/-]+:( |$)/) {
    keyline(s, n, p)
  }
}
END { flush_block() }
