-- examples/kuramoto/akorn_binding.lua - binding by synchrony with AKOrN
-- vector oscillators (kuramoto.akorn), the reference's CPU-scale "fixed-J
-- binding" task: a small synthetic image holds two shapes; every shape
-- pixel is a unit vector in R^dim; J couples 4-neighbour pixels of the
-- same shape positively (+1) and every pair of pixels from different
-- shapes negatively (-rep / pixel count).  No learning: after T steps the
-- pixels of each shape align and the two shapes point apart, so clustering
-- the vectors recovers the objects.
--
--   lamina run examples/kuramoto/akorn_binding.lua [size=12 dim=4 T=60 gamma=0.2 seed=1]
--
-- Prints the mean cosine similarity within and between shapes and whether
-- the two clusters found (threshold 0.5 on the similarity, connected
-- components) are exactly the two shapes; writes akorn_binding.svg (the
-- similarity matrix) and akorn_phase.svg (each pixel's angle in its first
-- two components, background blank).
local lam = require "lamina"
local p = lam.params { size = 12, dim = 4, T = 60, gamma = 0.2, rep = 0.5, seed = 1,
                       out = "akorn_binding.svg", out_phase = "akorn_phase.svg" }

-- The image: a filled square (label 1) and a plus sign (label 2).
local S = p.size
local label, pix = {}, {}
for y = 0, S - 1 do
  for x = 0, S - 1 do
    local l = 0
    if y >= 1 and y <= 4 and x >= 1 and x <= 4 then l = 1 end
    local cy, cx = S - 4, S - 4
    if (y == cy and math.abs(x - cx) <= 2) or (x == cx and math.abs(y - cy) <= 2) then l = 2 end
    label[y * S + x] = l
    if l > 0 then pix[#pix + 1] = { y = y, x = x, l = l } end
  end
end
local M = #pix
local count = { 0, 0 }
for _, q in ipairs(pix) do count[q.l] = count[q.l] + 1 end

-- J as CSR (row = target): J_ij = w_ij I_dim.
local indptr, idx, w = { 0 }, {}, {}
for i, a in ipairs(pix) do
  for j, b in ipairs(pix) do
    if i ~= j then
      if a.l == b.l and math.abs(a.x - b.x) + math.abs(a.y - b.y) == 1 then
        idx[#idx + 1], w[#w + 1] = j - 1, 1
      elseif a.l ~= b.l then
        idx[#idx + 1], w[#w + 1] = j - 1, -p.rep / count[b.l]
      end
    end
  end
  indptr[#indptr + 1] = #idx
end

local sim = lam.sim { dt = 1, seed = p.seed }
local ak = sim:add("ak", "kuramoto.akorn", { oscillators = M, dim = p.dim, coupling = "sparse", gamma = p.gamma })
ak:call("set_csr", indptr, idx, w)
local energy = sim:record("ak.energy")
sim:run(p.T)

local x = sim:port("ak.x")
local xp = x:copy():ptr()
local sim_m = lam.buf.new({ M, M })
local sp = sim_m:ptr()
local within, between, nw, nb = 0, 0, 0, 0
for i = 0, M - 1 do
  for j = 0, M - 1 do
    local c = 0
    for d = 0, p.dim - 1 do c = c + xp[i * p.dim + d] * xp[j * p.dim + d] end
    sp[i * M + j] = c
    if i ~= j then
      if pix[i + 1].l == pix[j + 1].l then within, nw = within + c, nw + 1 else between, nb = between + c, nb + 1 end
    end
  end
end
-- clusters: connected components of similarity > 0.5
local comp, k = {}, 0
for i = 0, M - 1 do
  if not comp[i] then
    k = k + 1
    local stack = { i }
    comp[i] = k
    while #stack > 0 do
      local a = table.remove(stack)
      for b = 0, M - 1 do
        if not comp[b] and sp[a * M + b] > 0.5 then comp[b] = k; stack[#stack + 1] = b end
      end
    end
  end
end
local exact = k == 2
for i = 0, M - 1 do
  for j = 0, M - 1 do
    if (comp[i] == comp[j]) ~= (pix[i + 1].l == pix[j + 1].l) then exact = false end
  end
end
local e = energy:data()
print(string.format("%d oscillators (dim %d): within-shape similarity %.4f, between %.4f", M, p.dim, within / nw, between / nb))
print(string.format("clusters found: %d; %s", k, exact and "exactly the two shapes (ARI = 1)" or "NOT the two shapes"))
print(string.format("energy (code score) step 1: %.3f, step %d: %.3f", e:get(1, 1, 1), p.T, e:get(p.T, 1, 1)))

lam.plot.heatmap { data = sim_m, vmin = -1, vmax = 1, cmap = "RdBu",
                   title = "cosine similarity of the oscillators (square first, then plus)",
                   xlabel = "pixel j", ylabel = "pixel i" }:save(p.out)
local img = lam.buf.new({ S, S }):fill(0 / 0)
local ip = img:ptr()
for i, q in ipairs(pix) do
  ip[q.y * S + q.x] = math.atan2(xp[(i - 1) * p.dim + 1], xp[(i - 1) * p.dim])
end
lam.plot.heatmap { data = img, title = "angle of each pixel's oscillator (first two components)",
                   clabel = "rad" }:save(p.out_phase)
print("wrote " .. p.out .. " and " .. p.out_phase)
return { within = within / nw, between = between / nb, exact = exact }
