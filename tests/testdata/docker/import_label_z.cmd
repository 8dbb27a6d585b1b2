docker import -c 'LABEL x=z' -c 'ENV A=b B="c d"' -c 'ONBUILD RUN echo hi' busybox.tar example/other:latest
