package dev.kizuna.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * CommandService runs allow-listed commands on trusted peers. Only commands the peer's owner
 * listed can run, as argv without a shell, and only for peers granted the commands permission.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class CommandServiceGrpc {

  private CommandServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "kizuna.v1.CommandService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.RunCommandRequest,
      dev.kizuna.v1.RunCommandResponse> getRunCommandMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RunCommand",
      requestType = dev.kizuna.v1.RunCommandRequest.class,
      responseType = dev.kizuna.v1.RunCommandResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.RunCommandRequest,
      dev.kizuna.v1.RunCommandResponse> getRunCommandMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.RunCommandRequest, dev.kizuna.v1.RunCommandResponse> getRunCommandMethod;
    if ((getRunCommandMethod = CommandServiceGrpc.getRunCommandMethod) == null) {
      synchronized (CommandServiceGrpc.class) {
        if ((getRunCommandMethod = CommandServiceGrpc.getRunCommandMethod) == null) {
          CommandServiceGrpc.getRunCommandMethod = getRunCommandMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.RunCommandRequest, dev.kizuna.v1.RunCommandResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RunCommand"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.RunCommandRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.RunCommandResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CommandServiceMethodDescriptorSupplier("RunCommand"))
              .build();
        }
      }
    }
    return getRunCommandMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.RunCommandStreamRequest,
      dev.kizuna.v1.RunCommandStreamResponse> getRunCommandStreamMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RunCommandStream",
      requestType = dev.kizuna.v1.RunCommandStreamRequest.class,
      responseType = dev.kizuna.v1.RunCommandStreamResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.RunCommandStreamRequest,
      dev.kizuna.v1.RunCommandStreamResponse> getRunCommandStreamMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.RunCommandStreamRequest, dev.kizuna.v1.RunCommandStreamResponse> getRunCommandStreamMethod;
    if ((getRunCommandStreamMethod = CommandServiceGrpc.getRunCommandStreamMethod) == null) {
      synchronized (CommandServiceGrpc.class) {
        if ((getRunCommandStreamMethod = CommandServiceGrpc.getRunCommandStreamMethod) == null) {
          CommandServiceGrpc.getRunCommandStreamMethod = getRunCommandStreamMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.RunCommandStreamRequest, dev.kizuna.v1.RunCommandStreamResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RunCommandStream"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.RunCommandStreamRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.RunCommandStreamResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CommandServiceMethodDescriptorSupplier("RunCommandStream"))
              .build();
        }
      }
    }
    return getRunCommandStreamMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.ListPeerCommandsRequest,
      dev.kizuna.v1.ListPeerCommandsResponse> getListPeerCommandsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListPeerCommands",
      requestType = dev.kizuna.v1.ListPeerCommandsRequest.class,
      responseType = dev.kizuna.v1.ListPeerCommandsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.ListPeerCommandsRequest,
      dev.kizuna.v1.ListPeerCommandsResponse> getListPeerCommandsMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.ListPeerCommandsRequest, dev.kizuna.v1.ListPeerCommandsResponse> getListPeerCommandsMethod;
    if ((getListPeerCommandsMethod = CommandServiceGrpc.getListPeerCommandsMethod) == null) {
      synchronized (CommandServiceGrpc.class) {
        if ((getListPeerCommandsMethod = CommandServiceGrpc.getListPeerCommandsMethod) == null) {
          CommandServiceGrpc.getListPeerCommandsMethod = getListPeerCommandsMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.ListPeerCommandsRequest, dev.kizuna.v1.ListPeerCommandsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListPeerCommands"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListPeerCommandsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListPeerCommandsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CommandServiceMethodDescriptorSupplier("ListPeerCommands"))
              .build();
        }
      }
    }
    return getListPeerCommandsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.ListCommandRunsRequest,
      dev.kizuna.v1.ListCommandRunsResponse> getListCommandRunsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListCommandRuns",
      requestType = dev.kizuna.v1.ListCommandRunsRequest.class,
      responseType = dev.kizuna.v1.ListCommandRunsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.ListCommandRunsRequest,
      dev.kizuna.v1.ListCommandRunsResponse> getListCommandRunsMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.ListCommandRunsRequest, dev.kizuna.v1.ListCommandRunsResponse> getListCommandRunsMethod;
    if ((getListCommandRunsMethod = CommandServiceGrpc.getListCommandRunsMethod) == null) {
      synchronized (CommandServiceGrpc.class) {
        if ((getListCommandRunsMethod = CommandServiceGrpc.getListCommandRunsMethod) == null) {
          CommandServiceGrpc.getListCommandRunsMethod = getListCommandRunsMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.ListCommandRunsRequest, dev.kizuna.v1.ListCommandRunsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListCommandRuns"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListCommandRunsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListCommandRunsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CommandServiceMethodDescriptorSupplier("ListCommandRuns"))
              .build();
        }
      }
    }
    return getListCommandRunsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.ApproveCommandRunRequest,
      dev.kizuna.v1.ApproveCommandRunResponse> getApproveCommandRunMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ApproveCommandRun",
      requestType = dev.kizuna.v1.ApproveCommandRunRequest.class,
      responseType = dev.kizuna.v1.ApproveCommandRunResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.ApproveCommandRunRequest,
      dev.kizuna.v1.ApproveCommandRunResponse> getApproveCommandRunMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.ApproveCommandRunRequest, dev.kizuna.v1.ApproveCommandRunResponse> getApproveCommandRunMethod;
    if ((getApproveCommandRunMethod = CommandServiceGrpc.getApproveCommandRunMethod) == null) {
      synchronized (CommandServiceGrpc.class) {
        if ((getApproveCommandRunMethod = CommandServiceGrpc.getApproveCommandRunMethod) == null) {
          CommandServiceGrpc.getApproveCommandRunMethod = getApproveCommandRunMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.ApproveCommandRunRequest, dev.kizuna.v1.ApproveCommandRunResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ApproveCommandRun"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ApproveCommandRunRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ApproveCommandRunResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CommandServiceMethodDescriptorSupplier("ApproveCommandRun"))
              .build();
        }
      }
    }
    return getApproveCommandRunMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.DenyCommandRunRequest,
      dev.kizuna.v1.DenyCommandRunResponse> getDenyCommandRunMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DenyCommandRun",
      requestType = dev.kizuna.v1.DenyCommandRunRequest.class,
      responseType = dev.kizuna.v1.DenyCommandRunResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.DenyCommandRunRequest,
      dev.kizuna.v1.DenyCommandRunResponse> getDenyCommandRunMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.DenyCommandRunRequest, dev.kizuna.v1.DenyCommandRunResponse> getDenyCommandRunMethod;
    if ((getDenyCommandRunMethod = CommandServiceGrpc.getDenyCommandRunMethod) == null) {
      synchronized (CommandServiceGrpc.class) {
        if ((getDenyCommandRunMethod = CommandServiceGrpc.getDenyCommandRunMethod) == null) {
          CommandServiceGrpc.getDenyCommandRunMethod = getDenyCommandRunMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.DenyCommandRunRequest, dev.kizuna.v1.DenyCommandRunResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DenyCommandRun"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.DenyCommandRunRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.DenyCommandRunResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CommandServiceMethodDescriptorSupplier("DenyCommandRun"))
              .build();
        }
      }
    }
    return getDenyCommandRunMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static CommandServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CommandServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CommandServiceStub>() {
        @java.lang.Override
        public CommandServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CommandServiceStub(channel, callOptions);
        }
      };
    return CommandServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static CommandServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CommandServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CommandServiceBlockingV2Stub>() {
        @java.lang.Override
        public CommandServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CommandServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return CommandServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static CommandServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CommandServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CommandServiceBlockingStub>() {
        @java.lang.Override
        public CommandServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CommandServiceBlockingStub(channel, callOptions);
        }
      };
    return CommandServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static CommandServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CommandServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CommandServiceFutureStub>() {
        @java.lang.Override
        public CommandServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CommandServiceFutureStub(channel, callOptions);
        }
      };
    return CommandServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * CommandService runs allow-listed commands on trusted peers. Only commands the peer's owner
   * listed can run, as argv without a shell, and only for peers granted the commands permission.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Runs a command on a peer and returns when it ends, with its exit code and output.
     * A run stopped at its time limit returns normally with STATE_TIMED_OUT and the output so
     * far; one that was cancelled, with STATE_CANCELLED.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PERMISSION_DENIED_BY_PEER,
     * SUBSYSTEM_UNAVAILABLE, COMMAND_NOT_ALLOWED, COMMAND_ARGUMENTS_INVALID, COMMAND_DENIED,
     * COMMAND_FAILED_TO_START, LIMIT_EXCEEDED, INVALID_ARGUMENT.
     * </pre>
     */
    default void runCommand(dev.kizuna.v1.RunCommandRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.RunCommandResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRunCommandMethod(), responseObserver);
    }

    /**
     * <pre>
     * Runs a command on a peer with standard input streamed in and output streamed out as it
     * comes. Send a header first; then stdin data, a stdin close, or a cancel.
     * Errors: as RunCommand.
     * </pre>
     */
    default io.grpc.stub.StreamObserver<dev.kizuna.v1.RunCommandStreamRequest> runCommandStream(
        io.grpc.stub.StreamObserver<dev.kizuna.v1.RunCommandStreamResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getRunCommandStreamMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists the commands a peer allows this device to run.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PERMISSION_DENIED_BY_PEER,
     * SUBSYSTEM_UNAVAILABLE.
     * </pre>
     */
    default void listPeerCommands(dev.kizuna.v1.ListPeerCommandsRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListPeerCommandsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListPeerCommandsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists the runs in progress on and from this device, those awaiting approval included.
     * </pre>
     */
    default void listCommandRuns(dev.kizuna.v1.ListCommandRunsRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListCommandRunsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListCommandRunsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Approves a peer's run that waits for this device's owner (STATE_AWAITING_APPROVAL).
     * Errors: COMMAND_RUN_NOT_FOUND, INVALID_ARGUMENT (the run no longer waits).
     * </pre>
     */
    default void approveCommandRun(dev.kizuna.v1.ApproveCommandRunRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ApproveCommandRunResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getApproveCommandRunMethod(), responseObserver);
    }

    /**
     * <pre>
     * Denies a peer's run that waits for approval; the peer gets COMMAND_DENIED.
     * Errors: COMMAND_RUN_NOT_FOUND, INVALID_ARGUMENT (the run no longer waits).
     * </pre>
     */
    default void denyCommandRun(dev.kizuna.v1.DenyCommandRunRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.DenyCommandRunResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDenyCommandRunMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service CommandService.
   * <pre>
   * CommandService runs allow-listed commands on trusted peers. Only commands the peer's owner
   * listed can run, as argv without a shell, and only for peers granted the commands permission.
   * </pre>
   */
  public static abstract class CommandServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return CommandServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service CommandService.
   * <pre>
   * CommandService runs allow-listed commands on trusted peers. Only commands the peer's owner
   * listed can run, as argv without a shell, and only for peers granted the commands permission.
   * </pre>
   */
  public static final class CommandServiceStub
      extends io.grpc.stub.AbstractAsyncStub<CommandServiceStub> {
    private CommandServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CommandServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CommandServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Runs a command on a peer and returns when it ends, with its exit code and output.
     * A run stopped at its time limit returns normally with STATE_TIMED_OUT and the output so
     * far; one that was cancelled, with STATE_CANCELLED.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PERMISSION_DENIED_BY_PEER,
     * SUBSYSTEM_UNAVAILABLE, COMMAND_NOT_ALLOWED, COMMAND_ARGUMENTS_INVALID, COMMAND_DENIED,
     * COMMAND_FAILED_TO_START, LIMIT_EXCEEDED, INVALID_ARGUMENT.
     * </pre>
     */
    public void runCommand(dev.kizuna.v1.RunCommandRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.RunCommandResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRunCommandMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Runs a command on a peer with standard input streamed in and output streamed out as it
     * comes. Send a header first; then stdin data, a stdin close, or a cancel.
     * Errors: as RunCommand.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<dev.kizuna.v1.RunCommandStreamRequest> runCommandStream(
        io.grpc.stub.StreamObserver<dev.kizuna.v1.RunCommandStreamResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
          getChannel().newCall(getRunCommandStreamMethod(), getCallOptions()), responseObserver);
    }

    /**
     * <pre>
     * Lists the commands a peer allows this device to run.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PERMISSION_DENIED_BY_PEER,
     * SUBSYSTEM_UNAVAILABLE.
     * </pre>
     */
    public void listPeerCommands(dev.kizuna.v1.ListPeerCommandsRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListPeerCommandsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListPeerCommandsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists the runs in progress on and from this device, those awaiting approval included.
     * </pre>
     */
    public void listCommandRuns(dev.kizuna.v1.ListCommandRunsRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListCommandRunsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListCommandRunsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Approves a peer's run that waits for this device's owner (STATE_AWAITING_APPROVAL).
     * Errors: COMMAND_RUN_NOT_FOUND, INVALID_ARGUMENT (the run no longer waits).
     * </pre>
     */
    public void approveCommandRun(dev.kizuna.v1.ApproveCommandRunRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ApproveCommandRunResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getApproveCommandRunMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Denies a peer's run that waits for approval; the peer gets COMMAND_DENIED.
     * Errors: COMMAND_RUN_NOT_FOUND, INVALID_ARGUMENT (the run no longer waits).
     * </pre>
     */
    public void denyCommandRun(dev.kizuna.v1.DenyCommandRunRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.DenyCommandRunResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDenyCommandRunMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service CommandService.
   * <pre>
   * CommandService runs allow-listed commands on trusted peers. Only commands the peer's owner
   * listed can run, as argv without a shell, and only for peers granted the commands permission.
   * </pre>
   */
  public static final class CommandServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<CommandServiceBlockingV2Stub> {
    private CommandServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CommandServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CommandServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Runs a command on a peer and returns when it ends, with its exit code and output.
     * A run stopped at its time limit returns normally with STATE_TIMED_OUT and the output so
     * far; one that was cancelled, with STATE_CANCELLED.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PERMISSION_DENIED_BY_PEER,
     * SUBSYSTEM_UNAVAILABLE, COMMAND_NOT_ALLOWED, COMMAND_ARGUMENTS_INVALID, COMMAND_DENIED,
     * COMMAND_FAILED_TO_START, LIMIT_EXCEEDED, INVALID_ARGUMENT.
     * </pre>
     */
    public dev.kizuna.v1.RunCommandResponse runCommand(dev.kizuna.v1.RunCommandRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRunCommandMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Runs a command on a peer with standard input streamed in and output streamed out as it
     * comes. Send a header first; then stdin data, a stdin close, or a cancel.
     * Errors: as RunCommand.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<dev.kizuna.v1.RunCommandStreamRequest, dev.kizuna.v1.RunCommandStreamResponse>
        runCommandStream() {
      return io.grpc.stub.ClientCalls.blockingBidiStreamingCall(
          getChannel(), getRunCommandStreamMethod(), getCallOptions());
    }

    /**
     * <pre>
     * Lists the commands a peer allows this device to run.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PERMISSION_DENIED_BY_PEER,
     * SUBSYSTEM_UNAVAILABLE.
     * </pre>
     */
    public dev.kizuna.v1.ListPeerCommandsResponse listPeerCommands(dev.kizuna.v1.ListPeerCommandsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListPeerCommandsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the runs in progress on and from this device, those awaiting approval included.
     * </pre>
     */
    public dev.kizuna.v1.ListCommandRunsResponse listCommandRuns(dev.kizuna.v1.ListCommandRunsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListCommandRunsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Approves a peer's run that waits for this device's owner (STATE_AWAITING_APPROVAL).
     * Errors: COMMAND_RUN_NOT_FOUND, INVALID_ARGUMENT (the run no longer waits).
     * </pre>
     */
    public dev.kizuna.v1.ApproveCommandRunResponse approveCommandRun(dev.kizuna.v1.ApproveCommandRunRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getApproveCommandRunMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Denies a peer's run that waits for approval; the peer gets COMMAND_DENIED.
     * Errors: COMMAND_RUN_NOT_FOUND, INVALID_ARGUMENT (the run no longer waits).
     * </pre>
     */
    public dev.kizuna.v1.DenyCommandRunResponse denyCommandRun(dev.kizuna.v1.DenyCommandRunRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDenyCommandRunMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service CommandService.
   * <pre>
   * CommandService runs allow-listed commands on trusted peers. Only commands the peer's owner
   * listed can run, as argv without a shell, and only for peers granted the commands permission.
   * </pre>
   */
  public static final class CommandServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<CommandServiceBlockingStub> {
    private CommandServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CommandServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CommandServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Runs a command on a peer and returns when it ends, with its exit code and output.
     * A run stopped at its time limit returns normally with STATE_TIMED_OUT and the output so
     * far; one that was cancelled, with STATE_CANCELLED.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PERMISSION_DENIED_BY_PEER,
     * SUBSYSTEM_UNAVAILABLE, COMMAND_NOT_ALLOWED, COMMAND_ARGUMENTS_INVALID, COMMAND_DENIED,
     * COMMAND_FAILED_TO_START, LIMIT_EXCEEDED, INVALID_ARGUMENT.
     * </pre>
     */
    public dev.kizuna.v1.RunCommandResponse runCommand(dev.kizuna.v1.RunCommandRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRunCommandMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the commands a peer allows this device to run.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PERMISSION_DENIED_BY_PEER,
     * SUBSYSTEM_UNAVAILABLE.
     * </pre>
     */
    public dev.kizuna.v1.ListPeerCommandsResponse listPeerCommands(dev.kizuna.v1.ListPeerCommandsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListPeerCommandsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the runs in progress on and from this device, those awaiting approval included.
     * </pre>
     */
    public dev.kizuna.v1.ListCommandRunsResponse listCommandRuns(dev.kizuna.v1.ListCommandRunsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListCommandRunsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Approves a peer's run that waits for this device's owner (STATE_AWAITING_APPROVAL).
     * Errors: COMMAND_RUN_NOT_FOUND, INVALID_ARGUMENT (the run no longer waits).
     * </pre>
     */
    public dev.kizuna.v1.ApproveCommandRunResponse approveCommandRun(dev.kizuna.v1.ApproveCommandRunRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getApproveCommandRunMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Denies a peer's run that waits for approval; the peer gets COMMAND_DENIED.
     * Errors: COMMAND_RUN_NOT_FOUND, INVALID_ARGUMENT (the run no longer waits).
     * </pre>
     */
    public dev.kizuna.v1.DenyCommandRunResponse denyCommandRun(dev.kizuna.v1.DenyCommandRunRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDenyCommandRunMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service CommandService.
   * <pre>
   * CommandService runs allow-listed commands on trusted peers. Only commands the peer's owner
   * listed can run, as argv without a shell, and only for peers granted the commands permission.
   * </pre>
   */
  public static final class CommandServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<CommandServiceFutureStub> {
    private CommandServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CommandServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CommandServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Runs a command on a peer and returns when it ends, with its exit code and output.
     * A run stopped at its time limit returns normally with STATE_TIMED_OUT and the output so
     * far; one that was cancelled, with STATE_CANCELLED.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PERMISSION_DENIED_BY_PEER,
     * SUBSYSTEM_UNAVAILABLE, COMMAND_NOT_ALLOWED, COMMAND_ARGUMENTS_INVALID, COMMAND_DENIED,
     * COMMAND_FAILED_TO_START, LIMIT_EXCEEDED, INVALID_ARGUMENT.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.RunCommandResponse> runCommand(
        dev.kizuna.v1.RunCommandRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRunCommandMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists the commands a peer allows this device to run.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PERMISSION_DENIED_BY_PEER,
     * SUBSYSTEM_UNAVAILABLE.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.ListPeerCommandsResponse> listPeerCommands(
        dev.kizuna.v1.ListPeerCommandsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListPeerCommandsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists the runs in progress on and from this device, those awaiting approval included.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.ListCommandRunsResponse> listCommandRuns(
        dev.kizuna.v1.ListCommandRunsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListCommandRunsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Approves a peer's run that waits for this device's owner (STATE_AWAITING_APPROVAL).
     * Errors: COMMAND_RUN_NOT_FOUND, INVALID_ARGUMENT (the run no longer waits).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.ApproveCommandRunResponse> approveCommandRun(
        dev.kizuna.v1.ApproveCommandRunRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getApproveCommandRunMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Denies a peer's run that waits for approval; the peer gets COMMAND_DENIED.
     * Errors: COMMAND_RUN_NOT_FOUND, INVALID_ARGUMENT (the run no longer waits).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.DenyCommandRunResponse> denyCommandRun(
        dev.kizuna.v1.DenyCommandRunRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDenyCommandRunMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_RUN_COMMAND = 0;
  private static final int METHODID_LIST_PEER_COMMANDS = 1;
  private static final int METHODID_LIST_COMMAND_RUNS = 2;
  private static final int METHODID_APPROVE_COMMAND_RUN = 3;
  private static final int METHODID_DENY_COMMAND_RUN = 4;
  private static final int METHODID_RUN_COMMAND_STREAM = 5;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_RUN_COMMAND:
          serviceImpl.runCommand((dev.kizuna.v1.RunCommandRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.RunCommandResponse>) responseObserver);
          break;
        case METHODID_LIST_PEER_COMMANDS:
          serviceImpl.listPeerCommands((dev.kizuna.v1.ListPeerCommandsRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.ListPeerCommandsResponse>) responseObserver);
          break;
        case METHODID_LIST_COMMAND_RUNS:
          serviceImpl.listCommandRuns((dev.kizuna.v1.ListCommandRunsRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.ListCommandRunsResponse>) responseObserver);
          break;
        case METHODID_APPROVE_COMMAND_RUN:
          serviceImpl.approveCommandRun((dev.kizuna.v1.ApproveCommandRunRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.ApproveCommandRunResponse>) responseObserver);
          break;
        case METHODID_DENY_COMMAND_RUN:
          serviceImpl.denyCommandRun((dev.kizuna.v1.DenyCommandRunRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.DenyCommandRunResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_RUN_COMMAND_STREAM:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.runCommandStream(
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.RunCommandStreamResponse>) responseObserver);
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getRunCommandMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.RunCommandRequest,
              dev.kizuna.v1.RunCommandResponse>(
                service, METHODID_RUN_COMMAND)))
        .addMethod(
          getRunCommandStreamMethod(),
          io.grpc.stub.ServerCalls.asyncBidiStreamingCall(
            new MethodHandlers<
              dev.kizuna.v1.RunCommandStreamRequest,
              dev.kizuna.v1.RunCommandStreamResponse>(
                service, METHODID_RUN_COMMAND_STREAM)))
        .addMethod(
          getListPeerCommandsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.ListPeerCommandsRequest,
              dev.kizuna.v1.ListPeerCommandsResponse>(
                service, METHODID_LIST_PEER_COMMANDS)))
        .addMethod(
          getListCommandRunsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.ListCommandRunsRequest,
              dev.kizuna.v1.ListCommandRunsResponse>(
                service, METHODID_LIST_COMMAND_RUNS)))
        .addMethod(
          getApproveCommandRunMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.ApproveCommandRunRequest,
              dev.kizuna.v1.ApproveCommandRunResponse>(
                service, METHODID_APPROVE_COMMAND_RUN)))
        .addMethod(
          getDenyCommandRunMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.DenyCommandRunRequest,
              dev.kizuna.v1.DenyCommandRunResponse>(
                service, METHODID_DENY_COMMAND_RUN)))
        .build();
  }

  private static abstract class CommandServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    CommandServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.kizuna.v1.CommandServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("CommandService");
    }
  }

  private static final class CommandServiceFileDescriptorSupplier
      extends CommandServiceBaseDescriptorSupplier {
    CommandServiceFileDescriptorSupplier() {}
  }

  private static final class CommandServiceMethodDescriptorSupplier
      extends CommandServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    CommandServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (CommandServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new CommandServiceFileDescriptorSupplier())
              .addMethod(getRunCommandMethod())
              .addMethod(getRunCommandStreamMethod())
              .addMethod(getListPeerCommandsMethod())
              .addMethod(getListCommandRunsMethod())
              .addMethod(getApproveCommandRunMethod())
              .addMethod(getDenyCommandRunMethod())
              .build();
        }
      }
    }
    return result;
  }
}
