#!/usr/bin/env luajit
-- lam.data file readers and dataset loaders: lam.data.csv (with and
-- without a header, gzip'd, options and their errors), lam.data.idx, the
-- scikit-learn 8x8 digits (counts and label histogram against sklearn's
-- documented values) and Fashion-MNIST when Debian's package is installed.
local tap = require "tap"
local D = require "lamina.data"
tap.plan(24)

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir) == 0)
local function put(name, text)
  local f = assert(io.open(dir .. "/" .. name, "wb"))
  f:write(text)
  f:close()
  return dir .. "/" .. name
end
local function vals(b)
  local t, p = {}, b:ptr()
  for i = 0, b:size() - 1 do t[#t + 1] = tostring(p[i]) end
  return table.concat(t, " ")
end

-- CSV --------------------------------------------------------------------
local p = put("h.csv", "t,\"x, y\",z\n0,1.5,-2\n1,2.5,3e1\n")
local b, names = D.csv(p)
tap.is(table.concat(b:shape(), "x") .. " " .. b:dtype(), "2x3 f64", "csv with header: [2, 3] f64")
tap.is(vals(b), "0 1.5 -2 1 2.5 30", "csv values row-major")
tap.is(table.concat(names, "|"), "t|x, y|z", "csv column names (quoted name with a comma)")
local nb, nn = D.csv(put("n.csv", "1\t2\n3\t4\n\n"))
tap.ok(nn == nil and vals(nb) == "1 2 3 4", "tsv without header: names nil, values read")
assert(os.execute("gzip -n -k " .. p) == 0)
local gb, gn = D.csv(p .. ".gz")
tap.ok(vals(gb) == vals(b) and table.concat(gn, "|") == "t|x, y|z", "gzip'd csv reads the same")
local fb, fn = D.csv(p, { header = true, delimiter = ",", dtype = "f32" })
tap.ok(fb:dtype() == "f32" and vals(fb) == "0 1.5 -2 1 2.5 30" and #fn == 3,
  "explicit header, delimiter and dtype f32")
local hb, hn = D.csv(put("num.csv", "1,2\n3,4\n"), { header = true })
tap.ok(table.concat(hn, "|") == "1|2" and vals(hb) == "3 4", "header=true on a numeric first row")
tap.raises(function() D.csv(put("bad.csv", "a,b\n1,2\n3,x\n")) end,
  { "bad.csv:3:3: not a number: 'x'" }, "non-numeric cell: error names file:line:column and the cell")
tap.raises(function() D.csv(put("rag.csv", "1,2\n3\n")) end,
  { "rag.csv:2:2: row has 1 cells, expected 2" }, "ragged row refused")
tap.raises(function() D.csv(put("e.csv", "")) end, { "e.csv: empty file" }, "empty file refused")
tap.raises(function() D.csv(dir .. "/none.csv") end, { "none.csv", "No such file" }, "missing file")
tap.raises(function() D.csv(p, { header = "yes" }) end, { "header=\"yes\"", "true, false" },
  "bad header option")
tap.raises(function() D.csv(p, { delimiter = "x" }) end, { "delimiter=\"x\"" }, "bad delimiter")
tap.raises(function() D.csv(p, { sep = "," }) end, { "unknown option 'sep'" }, "unknown option")
tap.raises(function() D.csv(nil) end, { "lam.data.csv: expected a file path" }, "path required")

-- IDX --------------------------------------------------------------------
local ip = put("l.idx", "\0\0\8\2\0\0\0\2\0\0\0\3" .. "\1\2\3\250\251\255")
local ib = D.idx(ip)
tap.is(table.concat(ib:shape(), "x") .. " " .. ib:dtype() .. " " .. vals(ib), "2x3 u8 1 2 3 250 251 255",
  "idx u8 [2, 3]")
local sp = put("s.idx", "\0\0\11\1\0\0\0\2" .. "\255\254\0\7")
tap.is(D.idx(sp):dtype() .. " " .. vals(D.idx(sp)), "i32 -2 7", "idx i16 big-endian widened to i32")
tap.raises(function() D.idx(put("t.idx", "\0\0\8\1\0\0\0\9\1")) end,
  { "t.idx", "holds 1 data bytes" }, "idx shorter than its header says")

-- Digits (scikit-learn) -----------------------------------------------------
local digits_file = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
if io.open(digits_file) then
  local im, lab = D.digits()
  tap.is(table.concat(im:shape(), "x") .. " " .. im:dtype() .. " " .. table.concat(lab:shape(), "x") ..
    " " .. lab:dtype(), "1797x64 f64 1797 i32", "digits: images [1797, 64] f64, labels [1797] i32")
  -- sklearn: np.bincount(load_digits().target); pixel values 0..16.
  local h, q = {}, lab:ptr()
  for i = 0, 1796 do h[q[i] + 1] = (h[q[i] + 1] or 0) + 1 end
  tap.is(table.concat(h, " "), "178 182 177 183 181 182 181 179 174 180",
    "digits: label histogram as np.bincount(load_digits().target)")
  tap.ok(im:min() == 0 and im:max() == 16 and im:sum() == 561718,
    "digits: pixels 0..16, sum 561718 (load_digits().data.sum())")
else
  for _ = 1, 3 do tap.ok(true, "# SKIP python3-sklearn not installed") end
end
tap.raises(function() D.digits { path = dir .. "/none.csv.gz" } end, { "none.csv.gz" },
  "digits with a missing path")

-- Fashion-MNIST (Debian's dataset-fashion-mnist) ------------------------------
if io.open("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz") then
  local im, lab = D.fashion_mnist { split = "test" }
  local h, q = {}, lab:ptr()
  for i = 0, lab:size() - 1 do h[q[i] + 1] = (h[q[i] + 1] or 0) + 1 end
  tap.ok(table.concat(im:shape(), "x") == "10000x28x28" and im:dtype() == "u8" and
    lab:dtype() == "i32" and table.concat(h, " ") == ("1000 "):rep(9) .. "1000",
    "fashion_mnist test: [10000, 28, 28] u8 images, i32 labels, 1000 per class")
else
  tap.ok(true, "# SKIP dataset-fashion-mnist not installed")
end
tap.raises(function() D.fashion_mnist { split = "test", dir = dir } end,
  { "not found", "dataset-fashion-mnist" }, "fashion_mnist names the Debian package when absent")

os.execute("rm -rf " .. dir)
tap.done()
