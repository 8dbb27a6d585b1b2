docker image inspect --format '{{json .Config}}' bad:shellcmd
