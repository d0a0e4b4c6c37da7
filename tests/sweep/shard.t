#!/usr/bin/env luajit
-- Shards: --shard I/N partitions the points (disjoint, union = all), the
-- rank and size come from SLURM / Open MPI / PMI variables, the emitted
-- SLURM script (bash -n, array range, chunking, time, per-task command,
-- and run task by task), the GNU parallel command line (run job by job),
-- and mpirun when Debian's openmpi-bin is installed.
package.path = "tests/sweep/?.lua;" .. package.path
local tap = require "tap"
local T = require "common"
tap.plan(29)
local dir = T.tmpdir()
local function protocol(name, n, extra)
  local vals = {}
  for i = 1, n do vals[i] = i end
  return T.protocol(dir, "name: " .. name .. "\nscript: @SCRIPT@\nout: " .. dir .. "/" .. name ..
    "\nsweep:\n  grid: { a: [" .. table.concat(vals, ", ") .. "] }\n" .. (extra or ""), name .. ".yaml")
end
local function points_run(out)
  local ids = {}
  local ls = T.sh("ls " .. out .. "/points 2>/dev/null")
  for id in ls:gmatch("%x+") do ids[id] = true end
  return ids
end
local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- --shard i/3 run one after another into one directory
local p = protocol("sh", 10)
local rows = T.plan(p)
local seen, disjoint, sizes, polled = {}, true, {}, {}
for i = 0, 2 do
  local before = points_run(dir .. "/sh")
  T.sh(T.lamina .. " sweep " .. p .. " --shard " .. i .. "/3 -j 2 --quiet")
  polled[#polled + 1] = select(2, T.sh(T.lamina .. " sweep " .. p .. " --status"))
  local after = points_run(dir .. "/sh")
  local new = 0
  for id in pairs(after) do
    if not before[id] then
      new = new + 1
      disjoint = disjoint and not seen[id]
      seen[id] = true
    end
  end
  sizes[#sizes + 1] = new
end
tap.is(table.concat(polled, " "), "3 3 0", "--status exits 3 while points have not run, 0 when all completed")
tap.is(select(2, T.sh(T.lamina .. " sweep " .. p .. " --status --shard 0/3")), 0,
  "--status of a finished shard exits 0")
tap.is(table.concat(sizes, " "), "4 3 3", "shards 0/3, 1/3, 2/3 run points i, i+3, ... (4, 3, 3 of 10)")
tap.ok(disjoint, "shards are disjoint")
local union = true
for _, r in ipairs(rows) do union = union and seen[r.id] end
tap.ok(union and count(seen) == 10, "their union is the whole sweep")
local csv = T.csv(dir .. "/sh/results.csv")
tap.is(#csv, 10, "the last shard's gather reads all completed points")
local status = T.sh(T.lamina .. " sweep " .. p .. " --status --shard 1/3")
tap.like(status, "(shard 1/3 from --shard: 3)", "--status of one shard")

-- the rank from the environment (with --status: nothing runs)
local env_cases = {
  { "SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_COUNT=4 SLURM_ARRAY_TASK_MIN=3", "2/4 from SLURM_ARRAY_TASK_ID" },
  { "SLURM_PROCID=1 SLURM_NTASKS=2", "1/2 from SLURM_PROCID" },
  { "OMPI_COMM_WORLD_RANK=2 OMPI_COMM_WORLD_SIZE=3", "2/3 from OMPI_COMM_WORLD_RANK" },
  { "PMI_RANK=0 PMI_SIZE=5", "0/5 from PMI_RANK" },
  { "PMIX_RANK=3 PMI_SIZE=4", "3/4 from PMIX_RANK" },
}
local clean = "env -u SLURM_ARRAY_TASK_ID -u SLURM_PROCID -u OMPI_COMM_WORLD_RANK -u PMI_RANK -u PMIX_RANK "
for _, c in ipairs(env_cases) do
  local out = T.sh(clean .. c[1] .. " " .. T.lamina .. " sweep " .. p .. " --status")
  tap.like(out, "(shard " .. c[2], c[1])
end
local out, st = T.sh(clean .. "OMPI_COMM_WORLD_RANK=1 " .. T.lamina .. " sweep " .. p .. " --status")
tap.ok(st == 2 and out:find("OMPI_COMM_WORLD_SIZE is not", 1, true), "a rank without a size is an error")
out = T.sh(clean .. "OMPI_COMM_WORLD_RANK=2 OMPI_COMM_WORLD_SIZE=3 " .. T.lamina .. " sweep " .. p .. " --status --shard 0/2")
tap.like(out, "(shard 0/2 from --shard", "--shard wins over the environment")

-- --emit slurm: 10 points, at most 4 array tasks -> 3 points per task
p = protocol("sl", 10, "slurm: { time: '00:10:00', max_array: 4, concurrent: 2, partition: short, mem: 2G }\n")
out, st = T.sh(T.lamina .. " sweep " .. p .. " --emit slurm")
local script = out:match("(%S+%.sbatch)")
local text = script and T.slurp(script) or ""
tap.ok(st == 0 and script ~= nil, "--emit slurm writes a script and prints its path")
tap.is(select(2, T.sh("bash -n " .. (script or "/nonexistent"))), 0, "the script passes bash -n")
tap.like(text, "#SBATCH --array=0-3%2\n", "array of 4 tasks (10 points, max_array 4), throttled to 2")
tap.like(text, "#SBATCH --time=0-00:30:00\n", "time limit: 3 points x 10 minutes")
tap.like(text, "#SBATCH --output=" .. dir .. "/sl/logs/%A_%a.out", "%A_%a log names")
tap.like(text, "#SBATCH --partition=short\n#SBATCH --mem=2G\n", "partition and memory")
tap.like(text, "--shard \"$SLURM_ARRAY_TASK_ID/4\"", "each task runs its shard")
tap.ok(T.sh("test -d " .. dir .. "/sl/logs && echo yes"):find("yes"), "the log directory exists before submission")
-- run the tasks as SLURM would (the #SBATCH lines are comments to bash)
for i = 0, 3 do T.sh(clean .. "SLURM_ARRAY_TASK_ID=" .. i .. " bash " .. script) end
status = T.sh(T.lamina .. " sweep " .. p .. " --status")
tap.like(status, "completed  10", "the 4 array tasks complete all 10 points")

-- --emit parallel: one job per point
p = protocol("pa", 5)
out, st = T.sh(T.lamina .. " sweep " .. p .. " --emit parallel -j 2")
tap.ok(st == 0 and out:find("seq 0 4 | parallel --jobs 2 --joblog ", 1, true) == 1, "--emit parallel: seq 0 4 | parallel --jobs 2")
tap.like(out, "--resume-failed", "... with --resume-failed")
tap.like(out, "--shard {}/5", "... one shard per point")
local cmd = (out:match("%-%-resume%-failed ([^\n]*)") or "false"):gsub("%s+$", "")
for i = 0, 4 do T.sh((cmd:gsub("{}", tostring(i)))) end
status = T.sh(T.lamina .. " sweep " .. p .. " --status")
tap.like(status, "completed  5", "running the 5 jobs completes the sweep")

-- mpirun (Debian's openmpi-bin), when installed
local has_mpi = T.sh("command -v mpirun >/dev/null && echo yes"):find("yes")
if has_mpi then
  p = protocol("mpi", 6)
  T.sh("mpirun -np 2 --oversubscribe --allow-run-as-root " .. T.lamina .. " sweep " .. p .. " -j 1 --quiet")
  status = T.sh(T.lamina .. " sweep " .. p .. " --status")
  tap.like(status, "completed  6", "mpirun -np 2: the two ranks complete the sweep")
  -- each rank sees its own half under the real mpirun environment
  local ranks = T.sh("mpirun -np 2 --oversubscribe --allow-run-as-root " .. T.lamina .. " sweep " .. p .. " --status")
  tap.ok(ranks:find("(shard 0/2 from OMPI_COMM_WORLD_RANK: 3)", 1, true) and
    ranks:find("(shard 1/2 from OMPI_COMM_WORLD_RANK: 3)", 1, true), "under mpirun the ranks are shards 0/2 and 1/2")
else
  tap.ok(true, "mpirun -np 2 # SKIP mpirun not installed (Debian openmpi-bin)")
  tap.ok(true, "rank 0 of 2 # SKIP mpirun not installed (Debian openmpi-bin)")
end
os.execute("rm -rf " .. dir)
tap.done()
