"""python3-torch's side of `npm run bench:ddp`: median time of a gloo all-reduce (sum, then / world
size as DDP averages) of `floats` float32 values over torch.distributed, env:// rendezvous
(MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK), after 3 warm-up rounds; also DDP's bucket path for a
list of tensors shaped like the given parameter shapes (flatten, all-reduce, unflatten, copy back).

usage: allreduce.py <floats> <reps> <shapes-json>
"""
import json, sys, time, datetime
import torch, torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

floats, reps, shapes = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
torch.set_num_threads(1)
dist.init_process_group('gloo', init_method='env://', timeout=datetime.timedelta(seconds=120))
world = dist.get_world_size()


def timed(fn):
    ts = []
    for i in range(reps + 3):
        dist.barrier()
        t0 = time.perf_counter()
        fn()
        if i >= 3:
            ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2]


flat = torch.zeros(floats)
def flat_avg():
    dist.all_reduce(flat)
    flat.div_(world)

tensors = [torch.zeros(s) for s in shapes]
def bucket_avg():
    buf = _flatten_dense_tensors(tensors)
    dist.all_reduce(buf)
    buf.div_(world)
    for t, r in zip(tensors, _unflatten_dense_tensors(buf, tensors)):
        t.copy_(r)

out = {'flat': timed(flat_avg), 'list': timed(bucket_avg)}
if dist.get_rank() == 0:
    print(json.dumps(out), flush=True)
dist.destroy_process_group()
