docker image inspect bad:shellcmd
