# A daemon whose main thread exits while another thread runs on: /proc/PID/stat then reads
# "Z", like a zombie's. The other thread prints "LEADERLESS PID" once the main thread is gone.
import ctypes, os, threading, time
def run():
    pid = os.getpid()
    while open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
        time.sleep(0.01)
    print(f"LEADERLESS {pid}", flush=True)
    while True:
        time.sleep(1)
threading.Thread(target=run).start()
ctypes.CDLL(None).pthread_exit(None)
